package podium.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.spark.QueryContext;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.classic.SparkSession;

/**
 * Unity Catalog's catalog statements, which Spark's grammar lacks, as statements Spark has:
 * `CREATE CATALOG [IF NOT EXISTS] c` makes the catalog usable in the session and its schema
 * `default` (the folder `c__default.db`, which every other session and process then finds),
 * `DROP CATALOG [IF EXISTS] c [RESTRICT | CASCADE]` drops its schemas (their folders),
 * `SHOW CATALOGS [[LIKE] 'pattern']` lists every catalog, not only those Spark has loaded, and
 * `CREATE [EXTERNAL] VOLUME [IF NOT EXISTS] v [LOCATION 'path']` / `DROP VOLUME [IF EXISTS] v`
 * make and remove the folder `/Volumes/c/s/v` stands for (an external volume's is a link to
 * its local location).
 *
 * Catalogs and volumes are folders, so creating and dropping one happens as the statement is
 * read; the statement returned is the last step, the answer (SHOW) or an empty query.
 */
final class CatalogStatements {
  private static final String LEADING = "(?is)^((?:\\s|--[^\\n]*(?:\\n|$)|/\\*.*?\\*/)*)";
  private static final String NAME = "(`[^`]+`|[A-Za-z0-9_-]+)";
  private static final Pattern CREATE = Pattern.compile(
      LEADING + "CREATE\\s+CATALOG\\s+(IF\\s+NOT\\s+EXISTS\\s+)?" + NAME + "(.*?)\\s*;?\\s*$");
  private static final Pattern DROP = Pattern.compile(
      LEADING + "DROP\\s+CATALOG\\s+(IF\\s+EXISTS\\s+)?" + NAME
      + "(?:\\s+(CASCADE|RESTRICT))?\\s*;?\\s*$");
  // Spark's own statement, read only to refuse a hive_metastore schema name with `__`: its
  // folder `a__b.db` would read as schema `b` of catalog `a` (a catalog's schemas are the
  // folders `c__s.db`, so theirs may have one). Statements that name `spark_catalog` are
  // podium's own, which make the folders by their names.
  private static final Pattern CREATE_SCHEMA = Pattern.compile(
      LEADING + "CREATE\\s+(?:SCHEMA|DATABASE|NAMESPACE)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?"
      + "(?:" + NAME + "\\.)?" + NAME + "(?:\\s*;\\s*|\\s.*)?$");
  private static final Pattern SHOW = Pattern.compile(
      LEADING + "SHOW\\s+CATALOGS(?:\\s+(?:LIKE\\s+)?'([^']*)')?\\s*;?\\s*$");
  private static final Pattern CREATE_VOLUME = Pattern.compile(
      LEADING + "CREATE\\s+(EXTERNAL\\s+)?VOLUME\\s+(IF\\s+NOT\\s+EXISTS\\s+)?"
      + "((?:" + NAME + "\\.){0,2}" + NAME + ")(?:\\s+LOCATION\\s+'([^']*)')?"
      + "(?:\\s+COMMENT\\s+'(?:[^']|'')*')?\\s*;?\\s*$");
  private static final Pattern DROP_VOLUME = Pattern.compile(
      LEADING + "DROP\\s+VOLUME\\s+(IF\\s+EXISTS\\s+)?((?:" + NAME + "\\.){0,2}" + NAME
      + ")\\s*;?\\s*$");
  private static final String NOTHING = "SELECT 1 AS done WHERE false";
  // the rule of spec.models.UNITY_NAME (a catalog's has no `__` either: checked below)
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_-]{0,254}");
  private static final String[] BUILT_IN = {
      "main", "workspace", "samples", "system", LocalCatalog.HIVE_METASTORE, "spark_catalog"};

  private CatalogStatements() {}

  /** The statement Spark runs in place of a catalog statement (after doing what it does),
   * or null when `sqlText` is not one. */
  static String rewrite(String sqlText, SparkSession spark) {
    Matcher show = SHOW.matcher(sqlText);
    if (show.matches()) {
      return show(spark, show.group(2));
    }
    Matcher create = CREATE.matcher(sqlText);
    if (create.matches()) {
      return create(spark, unquote(create.group(3)), create.group(2) != null);
    }
    Matcher drop = DROP.matcher(sqlText);
    if (drop.matches()) {
      return drop(spark, unquote(drop.group(3)), drop.group(2) != null,
                  "CASCADE".equalsIgnoreCase(drop.group(4)));
    }
    Matcher schema = CREATE_SCHEMA.matcher(sqlText);
    if (schema.matches() && unquote(schema.group(3)).contains(LocalCatalog.SEPARATOR)) {
      String catalog = schema.group(2) != null ? unquote(schema.group(2))
          : spark.sessionState().catalogManager().currentCatalog().name();
      if (catalog.equalsIgnoreCase(LocalCatalog.HIVE_METASTORE)
          || (schema.group(2) == null && catalog.equalsIgnoreCase("spark_catalog"))) {
        throw error("INVALID_SCHEMA_OR_RELATION_NAME", "schema name `"
                    + unquote(schema.group(3)) + "` is not one podium can keep: a "
                    + "hive_metastore schema's name has no '__' (its folder would read as a "
                    + "catalog and a schema)");
      }
    }
    Matcher volume = CREATE_VOLUME.matcher(sqlText);
    if (volume.matches()) {
      return createVolume(spark, volumePath(spark, volume.group(4)), volume.group(3) != null,
                          volume.group(2) != null, volume.group(7));
    }
    Matcher dropVolume = DROP_VOLUME.matcher(sqlText);
    if (dropVolume.matches()) {
      return dropVolume(spark, volumePath(spark, dropVolume.group(3)),
                        dropVolume.group(2) != null);
    }
    return null;
  }

  /** Catalog, schema and name of a volume written with one, two or three parts. */
  private static String[] volumePath(SparkSession spark, String written) {
    List<String> parts = new ArrayList<>();
    Matcher part = Pattern.compile(NAME).matcher(written);
    while (part.find()) {
      parts.add(unquote(part.group(1)));
    }
    org.apache.spark.sql.connector.catalog.CatalogManager manager =
        spark.sessionState().catalogManager();
    String[] namespace = manager.currentNamespace();
    if (parts.size() < 2) {
      parts.add(0, namespace.length > 0 ? namespace[namespace.length - 1] : "default");
    }
    if (parts.size() < 3) {
      String current = manager.currentCatalog().name();
      parts.add(0, current.equals("spark_catalog") ? LocalCatalog.HIVE_METASTORE : current);
    }
    return parts.toArray(new String[0]);
  }

  private static java.io.File volumeFolder(SparkSession spark, String[] path) {
    String dbfs = spark.conf().get("spark.podium.dbfs", "");
    if (dbfs.isEmpty()) {
      throw error("VOLUMES_UNAVAILABLE", "this cluster has no /Volumes (spark.podium.dbfs)");
    }
    java.io.File folder = new java.io.File(dbfs, "Volumes");
    for (String part : path) {
      folder = new java.io.File(folder, part);
    }
    return folder;
  }

  private static String createVolume(SparkSession spark, String[] path, boolean ifNotExists,
                                     boolean external, String location) {
    String full = String.join(".", path);
    if (path[0].equals(LocalCatalog.HIVE_METASTORE)) {
      throw error("UC_VOLUMES_NOT_SUPPORTED", "volume " + full + " needs a Unity Catalog "
                  + "catalog; hive_metastore has no volumes");
    }
    // CATALOG_NOT_FOUND from Spark when there is no such catalog
    Object catalog = spark.sessionState().catalogManager().catalog(path[0]);
    if (!(catalog instanceof LocalCatalog local)
        || !local.namespaceExists(new String[] {path[1]})) {
      throw error("SCHEMA_NOT_FOUND", "The schema `" + path[0] + "`.`" + path[1] + "` cannot "
                  + "be found. Verify the spelling and correctness of the schema and catalog.");
    }
    java.io.File folder = volumeFolder(spark, path);
    if (folder.exists() || java.nio.file.Files.isSymbolicLink(folder.toPath())) {
      if (ifNotExists) {
        return NOTHING;
      }
      throw error("VOLUME_ALREADY_EXISTS", "Volume `" + full + "` already exists. Choose a "
                  + "different name, drop the existing volume, or add the IF NOT EXISTS clause.");
    }
    if (external != (location != null)) {
      throw error("INVALID_VOLUME", external ? "an EXTERNAL VOLUME needs a LOCATION"
                  : "a LOCATION is for an EXTERNAL VOLUME");
    }
    try {
      folder.getParentFile().mkdirs();
      if (location == null) {
        java.nio.file.Files.createDirectories(folder.toPath());
      } else {
        java.nio.file.Path target = java.nio.file.Paths.get(
            location.startsWith("file:") ? java.net.URI.create(location).getPath() : location);
        if (!target.isAbsolute()) {
          throw error("INVALID_VOLUME", "an external volume's LOCATION is a local folder "
                      + "here (file:/... or /...), not " + location);
        }
        java.nio.file.Files.createDirectories(target);
        java.nio.file.Files.createSymbolicLink(folder.toPath(), target);
      }
    } catch (java.io.IOException failed) {
      throw error("VOLUME_NOT_CREATED", "cannot make volume " + full + ": " + failed);
    }
    return NOTHING;
  }

  private static String dropVolume(SparkSession spark, String[] path, boolean ifExists) {
    java.io.File folder = volumeFolder(spark, path);
    java.nio.file.Path link = folder.toPath();
    if (!folder.exists() && !java.nio.file.Files.isSymbolicLink(link)) {
      if (ifExists) {
        return NOTHING;
      }
      throw error("VOLUME_NOT_FOUND", "Volume `" + String.join(".", path) + "` does not exist.");
    }
    try {
      if (java.nio.file.Files.isSymbolicLink(link)) {
        java.nio.file.Files.delete(link);  // an external volume's files stay where they are
      } else {
        org.apache.commons.io.FileUtils.deleteDirectory(folder);
      }
    } catch (java.io.IOException failed) {
      throw error("VOLUME_NOT_DROPPED", "cannot drop volume " + String.join(".", path) + ": "
                  + failed);
    }
    return NOTHING;
  }

  private static String show(SparkSession spark, String pattern) {
    List<String> rows = new ArrayList<>();
    for (String catalog : InformationSchema.catalogs(spark)) {
      if (pattern == null || matches(pattern, catalog)) {
        rows.add("('" + catalog + "')");
      }
    }
    return rows.isEmpty() ? "SELECT CAST(NULL AS STRING) AS catalog WHERE false"
        : "SELECT catalog FROM VALUES " + String.join(", ", rows)
          + " AS catalogs(catalog) ORDER BY catalog";
  }

  /** Databricks' SHOW pattern: `*` for any characters, `|` between alternatives. */
  private static boolean matches(String pattern, String name) {
    for (String part : pattern.split("\\|")) {
      StringBuilder regex = new StringBuilder();
      String[] pieces = part.trim().split("\\*", -1);
      for (int i = 0; i < pieces.length; i++) {
        regex.append(i > 0 ? ".*" : "").append(Pattern.quote(pieces[i]));
      }
      if (Pattern.compile(regex.toString(), Pattern.CASE_INSENSITIVE).matcher(name).matches()) {
        return true;
      }
    }
    return false;
  }

  private static String create(SparkSession spark, String catalog, boolean ifNotExists) {
    if (!VALID.matcher(catalog).matches() || catalog.contains(LocalCatalog.SEPARATOR)) {
      throw error("INVALID_CATALOG_NAME", "catalog name `" + catalog + "` is not one podium "
                  + "can keep: use letters, digits, '_' and '-' (no '__'), at most 255 characters");
    }
    if (InformationSchema.exists(spark, catalog)) {
      if (ifNotExists) {
        return "CREATE NAMESPACE IF NOT EXISTS spark_catalog.`" + catalog
            + LocalCatalog.SEPARATOR + "default`";
      }
      throw error("CATALOG_ALREADY_EXISTS", "Catalog `" + catalog + "` already exists. Choose a "
                  + "different name, drop the existing catalog, or add the IF NOT EXISTS clause "
                  + "to tolerate a pre-existing catalog.");
    }
    spark.conf().set("spark.sql.catalog." + catalog, LocalCatalog.class.getName());
    return "CREATE NAMESPACE IF NOT EXISTS spark_catalog.`" + catalog + LocalCatalog.SEPARATOR
        + "default`";
  }

  private static String drop(SparkSession spark, String catalog, boolean ifExists,
                             boolean cascade) {
    for (String builtIn : BUILT_IN) {
      if (builtIn.equalsIgnoreCase(catalog)) {
        throw error("CATALOG_BUILT_IN", "catalog `" + catalog + "` comes with every "
                    + "workspace and cannot be dropped");
      }
    }
    String name = catalog.toLowerCase(Locale.ROOT);
    String last = "DROP NAMESPACE IF EXISTS spark_catalog.`" + name + LocalCatalog.SEPARATOR
        + "default` CASCADE";
    if (!InformationSchema.exists(spark, name)) {
      if (ifExists) {
        return last;
      }
      throw error("CATALOG_NOT_FOUND", "The catalog `" + catalog + "` not found. Verify the "
                  + "spelling of the catalog name, or SHOW CATALOGS.");
    }
    List<String> schemas = schemas(spark, name);
    if (!cascade) {
      for (String database : schemas) {
        boolean isDefault = database.equals(name + LocalCatalog.SEPARATOR + "default");
        if (!isDefault || spark.sessionState().catalog().listTables(database).nonEmpty()) {
          throw error("CATALOG_NOT_EMPTY", "Cannot drop catalog `" + catalog + "` because it "
                      + "contains schemas or tables. Use DROP CATALOG " + catalog
                      + " CASCADE to drop it with everything in it.");
        }
      }
    }
    for (String database : schemas) {
      spark.sql("DROP NAMESPACE IF EXISTS spark_catalog.`" + database + "` CASCADE");
    }
    spark.conf().unset("spark.sql.catalog." + name);
    InformationSchema.forget(spark, name);
    return last;
  }

  /** The session databases of `catalog`'s schemas: those the session knows and those with
   * a folder in the warehouse (registered here, so they can be dropped with their tables). */
  private static List<String> schemas(SparkSession spark, String catalog) {
    String prefix = catalog + LocalCatalog.SEPARATOR;
    String[] folders = InformationSchema.warehouse(spark).list();
    for (String folder : folders == null ? new String[0] : folders) {
      if (folder.startsWith(prefix) && folder.endsWith(".db")) {
        spark.sql("CREATE NAMESPACE IF NOT EXISTS spark_catalog.`"
                  + folder.substring(0, folder.length() - 3) + "`");
      }
    }
    List<String> found = new ArrayList<>();
    for (String database : scala.jdk.javaapi.CollectionConverters.asJava(
             spark.sessionState().catalog().listDatabases())) {
      if (database.startsWith(prefix)) {
        found.add(database);
      }
    }
    return found;
  }

  private static String unquote(String name) {
    return name.startsWith("`") ? name.substring(1, name.length() - 1) : name;
  }

  /** An error as Spark reports one (`[CLASS] message`), thrown as it is: Java calls
   * AnalysisException checked, Spark's Scala does not. */
  static RuntimeException error(String errorClass, String message) {
    return CatalogStatements.<RuntimeException>thrown(new AnalysisException(
        "[" + errorClass + "] " + message, scala.Option.empty(), scala.Option.empty(),
        scala.Option.empty(), scala.Option.empty(),
        scala.collection.immutable.Map$.MODULE$.empty(), new QueryContext[0]));
  }

  @SuppressWarnings("unchecked")
  private static <T extends Throwable> RuntimeException thrown(Throwable error) throws T {
    throw (T) error;
  }
}
