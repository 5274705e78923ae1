package podium.spark;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.parser.NamedParameterContext;
import org.apache.spark.sql.catalyst.parser.ParameterContext;
import org.apache.spark.sql.catalyst.parser.ParseException;
import org.apache.spark.sql.catalyst.parser.ParserInterface;
import org.apache.spark.sql.catalyst.parser.PositionalParameterContext;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.SparkSqlParser;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import scala.collection.immutable.Seq;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

/**
 * Keeps `spark.sql(text, args)` parameters working under Delta's SQL parser.
 *
 * Spark 4.1 binds named and positional parameters while parsing
 * (`parsePlanWithParameters`); Delta's parser does not override that method, so the
 * interface's default drops the parameters (delta-io/delta#7640). This parser wraps
 * whatever parser the session has (Delta's): a statement that comes with parameters is
 * parsed by Spark's own parser, which binds them, unless the wrapped parser makes a Delta
 * command of it (DESCRIBE HISTORY, OPTIMIZE, ...: Spark's grammar would misread those).
 * Registered as the last entry of `spark.sql.extensions` by podium.
 *
 * It also reads Databricks' `USE CATALOG name` as Spark's `SET CATALOG name`, the catalog
 * statements Spark lacks through `CatalogStatements`, and has `LocalPaths` make
 * `read_files` Spark's file source and `dbfs:/` paths local.
 */
public final class ParameterizedParser implements ParserInterface {
  private final SparkSession session;
  private final ParserInterface wrapped;
  private final SparkSqlParser spark = new SparkSqlParser();

  public ParameterizedParser(SparkSession session, ParserInterface wrapped) {
    this.session = session;
    this.wrapped = wrapped;
  }

  private long warehouseSeen = Long.MIN_VALUE;

  /** `sqlText` in the words Spark's grammar has. */
  private String spoken(String sqlText) {
    registerCatalogs();
    String catalogs = session instanceof org.apache.spark.sql.classic.SparkSession classic
        ? CatalogStatements.rewrite(sqlText, classic) : null;
    return catalogs != null ? catalogs : databricks(sqlText);
  }

  /** Keeps the session's catalogs those of the warehouse (`InformationSchema.register`),
   * looked at again only when the warehouse folder changed: one `stat` a statement. */
  private synchronized void registerCatalogs() {
    if (!(session instanceof org.apache.spark.sql.classic.SparkSession classic)) {
      return;
    }
    long stamp = InformationSchema.warehouse(classic).lastModified();
    if (stamp != warehouseSeen) {
      warehouseSeen = stamp;
      InformationSchema.register(classic);
    }
  }

  @Override
  public LogicalPlan parsePlanWithParameters(String sqlText, ParameterContext context)
      throws ParseException {
    sqlText = spoken(sqlText);
    if (isEmpty(context)) {
      return LocalPaths.rewrite(wrapped.parsePlanWithParameters(sqlText, context));
    }
    LogicalPlan own = wrapped.parsePlan(sqlText);
    if (own.getClass().getName().contains(".delta.")) {
      return own;  // a statement of Delta's own grammar (DESCRIBE HISTORY, OPTIMIZE, ...)
    }
    return LocalPaths.rewrite(spark.parsePlanWithParameters(sqlText, context));
  }

  private static final String LEADING = "(?is)^((?:\\s|--[^\\n]*(?:\\n|$)|/\\*.*?\\*/)*)";
  private static final java.util.regex.Pattern USE_CATALOG =
      java.util.regex.Pattern.compile(LEADING + "USE\\s+CATALOG\\s+(.*?)\\s*;?\\s*$");
  private static final java.util.regex.Pattern CREATE_OR_REFRESH = java.util.regex.Pattern
      .compile(LEADING + "CREATE\\s+OR\\s+(?:REFRESH|REPLACE)\\s+"
          + "(STREAMING\\s+TABLE|MATERIALIZED\\s+VIEW)\\b");

  private static final java.util.regex.Pattern CREATE_LIVE = java.util.regex.Pattern
      .compile(LEADING + "CREATE\\s+(?:OR\\s+(?:REFRESH|REPLACE)\\s+)?(TEMPORARY\\s+)?"
          + "(STREAMING\\s+|INCREMENTAL\\s+)?LIVE\\s+(TABLE|VIEW)\\b");

  /** Databricks statements Spark spells differently, in Spark's words: `USE CATALOG`,
   * `CREATE OR REFRESH STREAMING TABLE` / `CREATE OR REPLACE MATERIALIZED VIEW` (a
   * pipeline's update refreshes or replaces every dataset it defines anyway), and Delta
   * Live Tables' older `CREATE [STREAMING] LIVE TABLE` / `LIVE VIEW`. */
  private static String databricks(String sqlText) {
    java.util.regex.Matcher use = USE_CATALOG.matcher(sqlText);
    if (use.matches()) {
      return use.group(1) + "SET CATALOG " + use.group(2);
    }
    java.util.regex.Matcher live = CREATE_LIVE.matcher(sqlText);
    if (live.lookingAt()) {
      String kind = "VIEW".equalsIgnoreCase(live.group(4)) ? "TEMPORARY VIEW"
          : live.group(3) != null ? "STREAMING TABLE" : "MATERIALIZED VIEW";
      return live.group(1) + "CREATE " + kind + sqlText.substring(live.end());
    }
    java.util.regex.Matcher create = CREATE_OR_REFRESH.matcher(sqlText);
    return create.lookingAt() ? create.replaceFirst("$1CREATE $2") : sqlText;
  }

  private static boolean isEmpty(ParameterContext context) {
    if (context instanceof NamedParameterContext named) {
      return named.params().isEmpty();
    }
    if (context instanceof PositionalParameterContext positional) {
      return positional.params().isEmpty();
    }
    return context == null;
  }

  @Override
  public LogicalPlan parsePlan(String sqlText) throws ParseException {
    return LocalPaths.rewrite(wrapped.parsePlan(spoken(sqlText)));
  }

  @Override
  public Expression parseExpression(String sqlText) throws ParseException {
    return wrapped.parseExpression(sqlText);
  }

  @Override
  public TableIdentifier parseTableIdentifier(String sqlText) throws ParseException {
    return wrapped.parseTableIdentifier(sqlText);
  }

  @Override
  public FunctionIdentifier parseFunctionIdentifier(String sqlText) throws ParseException {
    return wrapped.parseFunctionIdentifier(sqlText);
  }

  @Override
  public Seq<String> parseMultipartIdentifier(String sqlText) throws ParseException {
    registerCatalogs();  // `spark.table("c.s.t")` and writers name tables this way
    return wrapped.parseMultipartIdentifier(sqlText);
  }

  @Override
  public LogicalPlan parseQuery(String sqlText) throws ParseException {
    return LocalPaths.rewrite(wrapped.parseQuery(sqlText));
  }

  @Override
  public StructType parseRoutineParam(String sqlText) throws ParseException {
    return wrapped.parseRoutineParam(sqlText);
  }

  @Override
  public StructType parseTableSchema(String sqlText) throws ParseException {
    return wrapped.parseTableSchema(sqlText);
  }

  @Override
  public DataType parseDataType(String sqlText) throws ParseException {
    return wrapped.parseDataType(sqlText);
  }

  /** The `spark.sql.extensions` entry: wraps the session's parser. */
  public static final class Extension
      extends AbstractFunction1<SparkSessionExtensions, BoxedUnit> {
    @Override
    public BoxedUnit apply(SparkSessionExtensions extensions) {
      extensions.injectParser(
          new AbstractFunction2<SparkSession, ParserInterface, ParserInterface>() {
            @Override
            public ParserInterface apply(SparkSession session, ParserInterface parser) {
              return new ParameterizedParser(session, parser);
            }
          });
      return BoxedUnit.UNIT;
    }
  }
}
