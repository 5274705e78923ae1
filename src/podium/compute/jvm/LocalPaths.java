package podium.spark;

import java.io.File;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.analysis.UnresolvedTableValuedFunction;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedArgumentExpression;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.UnresolvedDataSource;
import org.apache.spark.sql.catalyst.util.CaseInsensitiveMap;
import org.apache.spark.sql.catalyst.util.CaseInsensitiveMap$;
import org.apache.spark.sql.types.StructType;
import scala.Option;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractPartialFunction;

/**
 * Databricks' paths and `read_files` in SQL, on local folders.
 *
 * `READ_FILES(path, format => 'json', option => value, ...)` (also after `STREAM`) becomes
 * Spark's file source with those options; a stream without a `schema` gets the schema a
 * batch read of the same files infers, as Databricks' `read_files` does. In it and in
 * `format.`path`` relations, `/Volumes/...`, `dbfs:/...` and `/databricks-datasets/...`
 * name the folders podium keeps them in (settings `spark.podium.dbfs` and
 * `spark.podium.datasets`, set by podium on every cluster).
 */
public final class LocalPaths {
  static final String DBFS = "spark.podium.dbfs";
  static final String DATASETS = "spark.podium.datasets";
  private static final Set<String> FORMATS = Set.of(
      "json", "csv", "parquet", "delta", "text", "orc", "avro", "binaryfile", "xml");

  private LocalPaths() {}

  /** `plan` with `read_files` calls and Databricks paths made local. */
  public static LogicalPlan rewrite(LogicalPlan plan) {
    return plan.transformUpWithSubqueries(new AbstractPartialFunction<LogicalPlan, LogicalPlan>() {
      @Override
      public boolean isDefinedAt(LogicalPlan node) {
        return isReadFiles(node) || isPathRelation(node);
      }

      @Override
      public LogicalPlan apply(LogicalPlan node) {
        return node instanceof UnresolvedTableValuedFunction call ? readFiles(call)
            : pathRelation((UnresolvedRelation) node);
      }
    });
  }

  private static boolean isReadFiles(LogicalPlan node) {
    return node instanceof UnresolvedTableValuedFunction call
        && call.name().length() == 1
        && call.name().head().equalsIgnoreCase("read_files");
  }

  private static boolean isPathRelation(LogicalPlan node) {
    if (!(node instanceof UnresolvedRelation relation)) {
      return false;
    }
    var parts = relation.multipartIdentifier();
    return parts.length() == 2 && FORMATS.contains(parts.head().toLowerCase(Locale.ROOT))
        && !local(parts.last()).equals(parts.last());
  }

  private static LogicalPlan pathRelation(UnresolvedRelation relation) {
    var parts = relation.multipartIdentifier();
    var names = java.util.List.of(parts.head(), local(parts.last()));
    return new UnresolvedRelation(CollectionConverters.asScala(names).toList(),
        relation.options(), relation.isStreaming());
  }

  private static LogicalPlan readFiles(UnresolvedTableValuedFunction call) {
    String path = null;
    Map<String, String> options = new HashMap<>();
    for (Expression argument : CollectionConverters.asJava(call.functionArgs())) {
      if (argument instanceof NamedArgumentExpression named) {
        options.put(named.key().toLowerCase(Locale.ROOT), constant(named.value()));
      } else if (path == null) {
        path = constant(argument);
      } else {
        throw new IllegalArgumentException(
            "read_files takes one path; give options by name (format => 'json')");
      }
    }
    if (path == null) {
      throw new IllegalArgumentException("read_files needs a path: read_files('/path', ...)");
    }
    path = local(path);
    String format = options.remove("format");
    format = format == null ? formatOf(path) : format.toLowerCase(Locale.ROOT);
    String ddl = options.remove("schema");
    if ("csv".equals(format)) {
      options.putIfAbsent("inferschema", "true");  // read_files' inferColumnTypes
    }
    StructType schema = ddl != null ? StructType.fromDDL(ddl)
        : call.isStreaming() ? org.apache.spark.sql.classic.SparkSession.active().read()
            .format(format).options(options).load(path).schema()
        : null;
    @SuppressWarnings("unchecked")
    var scalaOptions = (scala.collection.immutable.Map<String, String>)
        scala.collection.immutable.Map$.MODULE$.from(CollectionConverters.asScala(options));
    CaseInsensitiveMap<String> caseless = CaseInsensitiveMap$.MODULE$.apply(scalaOptions);
    return new UnresolvedDataSource(format, Option.apply(schema), caseless,
        call.isStreaming(), CollectionConverters.asScala(java.util.List.of(path)).toList());
  }

  /** The local path of a Databricks path (`/Volumes/...`, `dbfs:/...`,
   * `/databricks-datasets/...`); any other path as it is. */
  static String local(String path) {
    var conf = org.apache.spark.sql.classic.SparkSession.active().conf();
    String dbfs = conf.get(DBFS, "");
    String datasets = conf.get(DATASETS, "");
    String bare = path.startsWith("dbfs:") ? path.substring(5).replaceFirst("^/*", "/") : path;
    if (!datasets.isEmpty() && bare.startsWith("/databricks-datasets")) {
      return datasets + bare.substring("/databricks-datasets".length());
    }
    if (!dbfs.isEmpty() && (path.startsWith("dbfs:") || bare.startsWith("/Volumes/"))) {
      return dbfs + bare;
    }
    return path;
  }

  private static String constant(Expression expression) {
    if (!expression.foldable()) {
      throw new IllegalArgumentException(
          "read_files arguments are constants: " + expression.sql());
    }
    Object value = expression.eval(null);
    return value == null ? null : value.toString();
  }

  /** The format of the files at `path`, from its own or its first data file's extension. */
  private static String formatOf(String path) {
    File file = new File(path.replaceFirst("^file:", ""));
    String name = file.getName();
    if (file.isDirectory()) {
      File[] children = file.listFiles(f -> f.isFile() && !f.getName().startsWith(".")
          && !f.getName().startsWith("_"));
      name = children == null || children.length == 0 ? "" : children[0].getName();
    }
    int dot = name.lastIndexOf('.');
    String extension = dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    if (extension.equals("jsonl") || extension.equals("ndjson")) {
      return "json";
    }
    if (FORMATS.contains(extension) || extension.equals("txt")) {
      return extension.equals("txt") ? "text" : extension;
    }
    throw new IllegalArgumentException("read_files cannot tell the format of " + path
        + "; add format => 'json' (or csv, parquet, ...)");
  }
}
