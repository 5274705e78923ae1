package podium.spark;

import java.io.IOException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
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
 * Databricks' `read_files` and `dbfs:/` paths in SQL.
 *
 * `READ_FILES(path, format => 'json', option => value, ...)` (also after `STREAM`) becomes
 * Spark's file source with those options; a stream without a `schema` gets the schema a
 * batch read of the same files infers, as Databricks' `read_files` does. In it and in
 * `format.`path`` relations, a `dbfs:/...` path names the folder podium keeps it in
 * (setting `spark.podium.dbfs`); `/Volumes/...` and `/databricks-datasets/...` are
 * `LocalVolumes`' to serve. Delta Live Tables' older spellings read the same:
 * `cloud_files(path, format[, map(option, value, ...)])` is a stream of `read_files`, and
 * a `LIVE.name` relation is the pipeline's own dataset `name`.
 */
public final class LocalPaths {
  static final String DBFS = "spark.podium.dbfs";
  private static final Set<String> FORMATS = Set.of(
      "json", "csv", "parquet", "delta", "text", "orc", "avro", "binaryfile", "xml");

  private LocalPaths() {}

  /** `plan` with `read_files` calls as Spark's file source and `dbfs:/` paths made local. */
  public static LogicalPlan rewrite(LogicalPlan plan) {
    return plan.transformUpWithSubqueries(new AbstractPartialFunction<LogicalPlan, LogicalPlan>() {
      @Override
      public boolean isDefinedAt(LogicalPlan node) {
        return isReadFiles(node) || isPathRelation(node) || isLive(node);
      }

      @Override
      public LogicalPlan apply(LogicalPlan node) {
        if (node instanceof UnresolvedTableValuedFunction call) {
          return readFiles(call);
        }
        return isLive(node) ? live((UnresolvedRelation) node)
            : pathRelation((UnresolvedRelation) node);
      }
    });
  }

  private static boolean isReadFiles(LogicalPlan node) {
    return node instanceof UnresolvedTableValuedFunction call
        && call.name().length() == 1
        && (call.name().head().equalsIgnoreCase("read_files")
            || call.name().head().equalsIgnoreCase("cloud_files"));
  }

  private static boolean isLive(LogicalPlan node) {
    return node instanceof UnresolvedRelation relation
        && relation.multipartIdentifier().length() == 2
        && relation.multipartIdentifier().head().equalsIgnoreCase("live");
  }

  private static LogicalPlan live(UnresolvedRelation relation) {
    var names = java.util.List.of(relation.multipartIdentifier().last());
    return new UnresolvedRelation(CollectionConverters.asScala(names).toList(),
        relation.options(), relation.isStreaming());
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
    boolean cloudFiles = call.name().head().equalsIgnoreCase("cloud_files");
    String path = null;
    Map<String, String> options = new HashMap<>();
    for (Expression argument : CollectionConverters.asJava(call.functionArgs())) {
      if (argument instanceof NamedArgumentExpression named) {
        options.put(named.key().toLowerCase(Locale.ROOT), constant(named.value()));
      } else if (path == null) {
        path = constant(argument);
      } else if (cloudFiles && !options.containsKey("format")) {
        options.put("format", constant(argument));
      } else if (cloudFiles
          && argument instanceof org.apache.spark.sql.catalyst.analysis.UnresolvedFunction map
          && map.nameParts().last().equalsIgnoreCase("map")) {
        // map('cloudFiles.inferColumnTypes', 'true', 'header', 'true', ...)
        var pairs = CollectionConverters.asJava(map.arguments());
        for (int i = 0; i + 1 < pairs.size(); i += 2) {
          String key = constant(pairs.get(i)).replaceFirst("(?i)^cloudFiles\\.", "");
          options.put(key.toLowerCase(Locale.ROOT), constant(pairs.get(i + 1)));
        }
      } else {
        throw new IllegalArgumentException(
            "read_files takes one path; give options by name (format => 'json')");
      }
    }
    if (cloudFiles) {
      call = new UnresolvedTableValuedFunction(call.name(), call.functionArgs(), true);
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

  /** A `dbfs:/` path as a local one: `dbfs:/Volumes/...` and `dbfs:/databricks-datasets/...`
   * are the mounts `LocalVolumes` serves, any other the folder of `spark.podium.dbfs`. */
  static String local(String path) {
    if (!path.startsWith("dbfs:")) {
      return path;
    }
    String bare = path.substring(5).replaceFirst("^/*", "/");
    if (bare.startsWith("/Volumes/") || bare.startsWith("/databricks-datasets")) {
      return bare;
    }
    String dbfs = org.apache.spark.sql.classic.SparkSession.active().conf().get(DBFS, "");
    return dbfs.isEmpty() ? path : dbfs + bare;
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
    String name = new Path(path).getName();
    try {
      Path where = new Path(path);
      FileSystem fs = where.getFileSystem(org.apache.spark.sql.classic.SparkSession.active()
          .sessionState().newHadoopConf());
      if (fs.getFileStatus(where).isDirectory()) {
        name = "";
        for (FileStatus child : fs.listStatus(where)) {
          String childName = child.getPath().getName();
          if (child.isFile() && !childName.startsWith(".") && !childName.startsWith("_")) {
            name = childName;
            break;
          }
        }
      }
    } catch (IOException missing) {
      // named by the path alone; Spark says what is missing when it reads
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
