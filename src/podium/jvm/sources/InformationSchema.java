package podium.spark;

import java.io.File;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.CatalogTableType;
import org.apache.spark.sql.catalyst.catalog.SessionCatalog;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.connector.catalog.CatalogPlugin;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.expressions.NamedReference;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.connector.read.Batch;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Unity Catalog's `information_schema`: `catalogs`, `schemata`, `tables`, `views`,
 * `columns` and `volumes`, with Databricks' column names, read from what the session's
 * catalogs hold when a query runs; and, with their columns and no rows (podium keeps no tags,
 * masks, filters or constraints), `table_tags`, `column_tags`, `column_masks`, `row_filters`,
 * `table_constraints`, `key_column_usage` and `referential_constraints`, which tools such as
 * dbt-databricks ask for. A catalog's own `information_schema` describes that catalog;
 * `system.information_schema` describes every catalog (not `hive_metastore`, as on
 * Databricks). Also which catalogs exist: the standard ones a cluster starts with and every
 * catalog with a schema folder (`c__s.db`) in the warehouse.
 */
public final class InformationSchema {
  public static final String SCHEMA = "information_schema";
  static final String[] VIEWS = {"catalogs", "schemata", "tables", "views", "columns",
      "volumes", "table_tags", "column_tags", "column_masks", "row_filters",
      "table_constraints", "key_column_usage", "referential_constraints"};
  private static final String CONF = "spark.sql.catalog.";
  private static final String ACROSS = "system";

  private InformationSchema() {}

  /** Whether `view` is one of the information schema's relations. */
  static boolean isView(String view) {
    for (String v : VIEWS) {
      if (v.equalsIgnoreCase(view)) {
        return true;
      }
    }
    return false;
  }

  // Catalogs

  /** Every catalog of the session, sorted, `hive_metastore` included: the standard ones a
   * cluster starts with and those with schema folders in the warehouse. */
  public static List<String> catalogs(SparkSession spark) {
    register(spark);
    Set<String> found = new TreeSet<>();
    Map<String, String> conf =
        scala.jdk.javaapi.CollectionConverters.asJava(spark.conf().getAll());
    for (Map.Entry<String, String> entry : conf.entrySet()) {
      String key = entry.getKey();
      if (key.startsWith(CONF) && key.indexOf('.', CONF.length()) < 0
          && LocalCatalog.class.getName().equals(entry.getValue())) {
        found.add(key.substring(CONF.length()));
      }
    }
    return new ArrayList<>(found);
  }

  /** Makes the session's catalogs those of the warehouse: a catalog with schema folders
   * (made by any session, application or process) becomes usable, one whose folders are gone
   * (dropped elsewhere) is no longer; the standard ones, set when the cluster started, stay. */
  static void register(SparkSession spark) {
    Set<String> present = inWarehouse(spark);
    Map<String, String> conf =
        scala.jdk.javaapi.CollectionConverters.asJava(spark.conf().getAll());
    org.apache.spark.SparkConf started = spark.sparkContext().conf();
    for (Map.Entry<String, String> entry : conf.entrySet()) {
      String key = entry.getKey();
      if (key.startsWith(CONF) && key.indexOf('.', CONF.length()) < 0
          && LocalCatalog.class.getName().equals(entry.getValue()) && !started.contains(key)
          && !present.contains(key.substring(CONF.length()))) {
        spark.conf().unset(key);
        forget(spark, key.substring(CONF.length()));
      }
    }
    for (String catalog : present) {
      if (!conf.containsKey(CONF + catalog)) {
        spark.conf().set(CONF + catalog, LocalCatalog.class.getName());
      }
    }
  }

  /** Drops the session's loaded plugin of `catalog`, so `USE CATALOG` no longer finds it.
   * Spark keeps loaded catalogs in a private map with no way to remove one. */
  @SuppressWarnings("unchecked")
  static void forget(SparkSession spark, String catalog) {
    Object manager = spark.sessionState().catalogManager();
    try {
      java.lang.reflect.Field field = manager.getClass().getDeclaredField("catalogs");
      field.setAccessible(true);
      ((scala.collection.mutable.HashMap<String, Object>) field.get(manager)).remove(catalog);
    } catch (ReflectiveOperationException | RuntimeException otherSpark) {
      // the plugin stays loaded in this session; it finds no schemas
    }
  }

  /** Catalogs that have schema folders `c__s.db` in the warehouse. */
  static Set<String> inWarehouse(SparkSession spark) {
    Set<String> found = new TreeSet<>();
    String[] names = warehouse(spark).list();
    for (String name : names == null ? new String[0] : names) {
      int cut = name.indexOf(LocalCatalog.SEPARATOR);
      if (cut > 0 && name.endsWith(".db")) {
        found.add(name.substring(0, cut));
      }
    }
    return found;
  }

  /** Whether `catalog` is one of the session's catalogs or has schemas in the warehouse. */
  static boolean exists(SparkSession spark, String catalog) {
    return catalogs(spark).stream().anyMatch(c -> c.equalsIgnoreCase(catalog));
  }

  static File warehouse(SparkSession spark) {
    String dir = spark.conf().get("spark.sql.warehouse.dir");
    return new File(dir.startsWith("file:") ? java.net.URI.create(dir).getPath() : dir);
  }

  // The relations

  /** The relation `view` of catalog `catalog`'s information schema. */
  static Table table(String catalog, String view) {
    return new View(catalog, view.toLowerCase(java.util.Locale.ROOT));
  }

  private static StructType schemaOf(String view) {
    List<StructField> fields = new ArrayList<>();
    String[][] columns = switch (view) {
      case "catalogs" -> new String[][] {{"catalog_name", "s"}, {"catalog_owner", "s"},
          {"comment", "s"}, {"created", "t"}, {"created_by", "s"}, {"last_altered", "t"},
          {"last_altered_by", "s"}};
      case "schemata" -> new String[][] {{"catalog_name", "s"}, {"schema_name", "s"},
          {"schema_owner", "s"}, {"comment", "s"}, {"created", "t"}, {"created_by", "s"},
          {"last_altered", "t"}, {"last_altered_by", "s"}};
      case "tables" -> new String[][] {{"table_catalog", "s"}, {"table_schema", "s"},
          {"table_name", "s"}, {"table_type", "s"}, {"is_insertable_into", "s"},
          {"commit_action", "s"}, {"table_owner", "s"}, {"comment", "s"}, {"created", "t"},
          {"created_by", "s"}, {"last_altered", "t"}, {"last_altered_by", "s"},
          {"data_source_format", "s"}, {"storage_sub_directory", "s"}, {"storage_path", "s"}};
      case "columns" -> new String[][] {{"table_catalog", "s"}, {"table_schema", "s"},
          {"table_name", "s"}, {"column_name", "s"}, {"ordinal_position", "i"},
          {"column_default", "s"}, {"is_nullable", "s"}, {"full_data_type", "s"},
          {"data_type", "s"}, {"numeric_precision", "i"}, {"numeric_scale", "i"},
          {"partition_index", "i"}, {"comment", "s"}};
      case "views" -> new String[][] {{"table_catalog", "s"}, {"table_schema", "s"},
          {"table_name", "s"}, {"view_definition", "s"}, {"check_option", "s"},
          {"is_updatable", "s"}, {"is_insertable_into", "s"}, {"sql_path", "s"}};
      case "table_tags" -> new String[][] {{"catalog_name", "s"}, {"schema_name", "s"},
          {"table_name", "s"}, {"tag_name", "s"}, {"tag_value", "s"}};
      case "column_tags" -> new String[][] {{"catalog_name", "s"}, {"schema_name", "s"},
          {"table_name", "s"}, {"column_name", "s"}, {"tag_name", "s"}, {"tag_value", "s"}};
      case "column_masks" -> new String[][] {{"table_catalog", "s"}, {"table_schema", "s"},
          {"table_name", "s"}, {"column_name", "s"}, {"mask_catalog", "s"},
          {"mask_schema", "s"}, {"mask_name", "s"}, {"using_columns", "s"}};
      case "row_filters" -> new String[][] {{"table_catalog", "s"}, {"table_schema", "s"},
          {"table_name", "s"}, {"filter_catalog", "s"}, {"filter_schema", "s"},
          {"filter_name", "s"}, {"target_columns", "s"}};
      case "table_constraints" -> new String[][] {{"constraint_catalog", "s"},
          {"constraint_schema", "s"}, {"constraint_name", "s"}, {"table_catalog", "s"},
          {"table_schema", "s"}, {"table_name", "s"}, {"constraint_type", "s"},
          {"is_deferrable", "s"}, {"initially_deferred", "s"}, {"enforced", "s"}};
      case "key_column_usage" -> new String[][] {{"constraint_catalog", "s"},
          {"constraint_schema", "s"}, {"constraint_name", "s"}, {"table_catalog", "s"},
          {"table_schema", "s"}, {"table_name", "s"}, {"column_name", "s"},
          {"ordinal_position", "i"}, {"position_in_unique_constraint", "i"}};
      case "referential_constraints" -> new String[][] {{"constraint_catalog", "s"},
          {"constraint_schema", "s"}, {"constraint_name", "s"},
          {"unique_constraint_catalog", "s"}, {"unique_constraint_schema", "s"},
          {"unique_constraint_name", "s"}, {"match_option", "s"}, {"update_rule", "s"},
          {"delete_rule", "s"}};
      default -> new String[][] {{"volume_catalog", "s"}, {"volume_schema", "s"},
          {"volume_name", "s"}, {"volume_type", "s"}, {"volume_owner", "s"}, {"comment", "s"},
          {"storage_location", "s"}, {"created", "t"}, {"created_by", "s"},
          {"last_altered", "t"}, {"last_altered_by", "s"}};
    };
    for (String[] column : columns) {
      DataType type = switch (column[1]) {
        case "t" -> DataTypes.TimestampType;
        case "i" -> DataTypes.IntegerType;
        default -> DataTypes.StringType;
      };
      boolean nullable = !column[0].endsWith("_name") || column[0].equals("column_name");
      fields.add(new StructField(column[0], type, nullable, Metadata.empty()));
    }
    return new StructType(fields.toArray(new StructField[0]));
  }

  /** One relation of the information schema: read whole, when a query scans it. */
  static final class View implements SupportsRead {
    private final String catalog;
    private final String view;
    private final StructType schema;

    View(String catalog, String view) {
      this.catalog = catalog;
      this.view = view;
      this.schema = schemaOf(view);
    }

    @Override
    public String name() {
      return catalog + "." + SCHEMA + "." + view;
    }

    @Override
    @SuppressWarnings("deprecation")
    public StructType schema() {
      return schema;
    }

    @Override
    public Set<TableCapability> capabilities() {
      return EnumSet.of(TableCapability.BATCH_READ);
    }

    @Override
    public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
      return () -> new Scan() {
        @Override
        public StructType readSchema() {
          return schema;
        }

        @Override
        public String description() {
          return name();
        }

        @Override
        public Batch toBatch() {
          return new Batch() {
            @Override
            public InputPartition[] planInputPartitions() {
              return new InputPartition[] {new Rows(rows(SparkSession.active(), catalog, view))};
            }

            @Override
            public PartitionReaderFactory createReaderFactory() {
              return new Reader();
            }
          };
        }
      };
    }
  }

  /** The rows of one relation, computed on the driver and carried to the reader. */
  static final class Rows implements InputPartition {
    final InternalRow[] rows;

    Rows(List<InternalRow> rows) {
      this.rows = rows.toArray(new InternalRow[0]);
    }
  }

  static final class Reader implements PartitionReaderFactory {
    @Override
    public PartitionReader<InternalRow> createReader(InputPartition partition) {
      InternalRow[] rows = ((Rows) partition).rows;
      return new PartitionReader<InternalRow>() {
        private int next = -1;

        @Override
        public boolean next() {
          return ++next < rows.length;
        }

        @Override
        public InternalRow get() {
          return rows[next];
        }

        @Override
        public void close() {}
      };
    }
  }

  // What the relations hold

  /** The relations made from the tables' own metadata (the others hold no rows). */
  private static final Set<String> DESCRIBED = Set.of("tables", "views", "columns");

  private static List<InternalRow> rows(SparkSession spark, String catalog, String view) {
    List<InternalRow> out = new ArrayList<>();
    List<String> catalogs = new ArrayList<>();
    for (String name : catalogs(spark)) {
      if (!name.equals(LocalCatalog.HIVE_METASTORE)
          && (catalog.equals(ACROSS) || name.equals(catalog))) {
        catalogs.add(name);
      }
    }
    String owner = System.getProperty("user.name");
    for (String name : catalogs) {
      CatalogPlugin plugin = spark.sessionState().catalogManager().catalog(name);
      if (!(plugin instanceof LocalCatalog local)) {
        continue;
      }
      if (view.equals("catalogs")) {
        Long created = local.created();
        out.add(row(name, owner, null, created, owner, created, owner));
        continue;
      }
      String[][] namespaces;
      try {
        namespaces = local.listNamespaces();
      } catch (Exception gone) {
        continue;
      }
      java.util.Arrays.sort(namespaces, (a, b) -> a[0].compareTo(b[0]));
      for (String[] namespace : namespaces) {
        String schema = namespace[0];
        if (view.equals("schemata")) {
          Long created = local.createdSchema(schema);
          out.add(row(name, schema, owner, null, created, owner, created, owner));
        } else if (view.equals("volumes")) {
          volumes(spark, name, schema, owner, out);
        } else if (DESCRIBED.contains(view) && !schema.equals(SCHEMA)) {
          tables(spark, local, name, schema, view, owner, out);
        }
      }
    }
    return out;
  }

  /** The catalog's own views (`LocalViews`) of a schema, as rows of `view`. */
  private static void views(LocalCatalog local, String catalog, String schema, String view,
                            String owner, List<InternalRow> out) {
    Identifier[] idents;
    try {
      idents = local.listViews(new String[] {schema});
    } catch (Exception gone) {
      return;
    }
    java.util.Arrays.sort(idents, (a, b) -> a.name().compareTo(b.name()));
    for (Identifier ident : idents) {
      org.apache.spark.sql.connector.catalog.View kept;
      try {
        kept = local.loadView(ident);
      } catch (Exception gone) {
        continue;
      }
      String comment = kept.properties() == null ? null : kept.properties().get("comment");
      if (view.equals("views")) {
        out.add(row(catalog, schema, ident.name(), kept.queryText(), "NONE", "NO", "NO",
                    null));
      } else if (view.equals("tables")) {
        out.add(row(catalog, schema, ident.name(), "VIEW", "NO", "PRESERVE", owner, comment,
                    null, owner, null, owner, null, null, null));
      } else {
        int position = 0;
        for (Column column : kept.columns()) {
          DataType type = column.dataType();
          out.add(row(catalog, schema, ident.name(), column.name(), position++, null,
                      column.nullable() ? "YES" : "NO", type.simpleString(), typeName(type),
                      type instanceof DecimalType d ? d.precision() : null,
                      type instanceof DecimalType d ? d.scale() : null, null,
                      column.comment()));
        }
      }
    }
  }

  private static void tables(SparkSession spark, LocalCatalog local, String catalog,
                             String schema, String view, String owner, List<InternalRow> out) {
    views(local, catalog, schema, view, owner, out);
    SessionCatalog session = spark.sessionState().catalog();
    Identifier[] idents;
    try {
      idents = local.listTables(new String[] {schema});
    } catch (Exception gone) {
      return;
    }
    java.util.Arrays.sort(idents, (a, b) -> a.name().compareTo(b.name()));
    for (Identifier ident : idents) {
      String database = local.sessionDatabase(schema);
      CatalogTable meta;
      try {
        meta = session.getTableMetadata(
            new TableIdentifier(ident.name(), scala.Option.apply(database)));
      } catch (Exception gone) {
        continue;
      }
      if (view.equals("views")) {
        if (meta.tableType() == CatalogTableType.VIEW()) {
          out.add(row(catalog, schema, ident.name(),
                      meta.viewText().isEmpty() ? null : meta.viewText().get(), "NONE", "NO",
                      "NO", null));
        }
        continue;
      }
      if (view.equals("tables")) {
        boolean isView = meta.tableType() == CatalogTableType.VIEW();
        String format = isView || meta.provider().isEmpty() ? null
            : meta.provider().get().toUpperCase(java.util.Locale.ROOT);
        String path = meta.storage().locationUri().isEmpty() ? null
            : meta.storage().locationUri().get().toString();
        String type = isView ? "VIEW" : pipelineKind(path);
        if (type == null) {
          type = meta.tableType() == CatalogTableType.EXTERNAL() ? "EXTERNAL" : "MANAGED";
        }
        Long created = meta.createTime() * 1000L;
        Long altered = meta.lastAccessTime() > 0 ? meta.lastAccessTime() * 1000L : created;
        out.add(row(catalog, schema, ident.name(), type, isView ? "NO" : "YES", "PRESERVE",
                    owner, meta.comment().isEmpty() ? null : meta.comment().get(), created,
                    owner, altered, owner, format, null, path));
        continue;
      }
      Table table;
      try {
        table = local.loadTable(ident);
      } catch (Exception gone) {
        continue;
      }
      Map<String, Integer> partitions = new LinkedHashMap<>();
      for (Transform transform : table.partitioning()) {
        if (transform.name().equals("identity") && transform.references().length == 1) {
          NamedReference ref = transform.references()[0];
          partitions.put(String.join(".", ref.fieldNames()), partitions.size());
        }
      }
      int position = 0;
      for (Column column : table.columns()) {
        DataType type = column.dataType();
        Integer precision = type instanceof DecimalType d ? d.precision() : null;
        Integer scale = type instanceof DecimalType d ? d.scale() : null;
        out.add(row(catalog, schema, ident.name(), column.name(), position++,
                    column.defaultValue() == null ? null : column.defaultValue().getSql(),
                    column.nullable() ? "YES" : "NO", type.simpleString(),
                    typeName(type), precision, scale, partitions.get(column.name()),
                    column.comment()));
      }
    }
  }

  /** STREAMING_TABLE or MATERIALIZED_VIEW for a pipeline's dataset (the pipeline task
   * leaves its kind beside its files, `tasks/pipeline.py`); null for any other table. */
  private static String pipelineKind(String location) {
    if (location == null || !location.startsWith("file:")) {
      return null;
    }
    File mark = new File(new File(java.net.URI.create(location)), "_podium_dataset");
    try {
      String kind = java.nio.file.Files.readString(mark.toPath()).trim();
      return kind.equals("STREAMING_TABLE") || kind.equals("MATERIALIZED_VIEW") ? kind : null;
    } catch (java.io.IOException | RuntimeException none) {
      return null;
    }
  }

  /** Databricks' `data_type`: the type's name without its parameters, upper case. */
  private static String typeName(DataType type) {
    String name = type.typeName();
    int cut = name.indexOf('(');
    return (cut < 0 ? name : name.substring(0, cut)).toUpperCase(java.util.Locale.ROOT);
  }

  private static void volumes(SparkSession spark, String catalog, String schema, String owner,
                              List<InternalRow> out) {
    String dbfs = spark.conf().get("spark.podium.dbfs", "");
    if (dbfs.isEmpty()) {
      return;
    }
    File folder = new File(new File(new File(dbfs, "Volumes"), catalog), schema);
    String[] names = folder.list();
    if (names == null) {
      return;
    }
    java.util.Arrays.sort(names);
    for (String name : names) {
      File volume = new File(folder, name);
      if (volume.isDirectory() && !name.startsWith(".")) {
        Long created = volume.lastModified();
        out.add(row(catalog, schema, name, "MANAGED", owner, null,
                    volume.toURI().toString(), created, owner, created, owner));
      }
    }
  }

  /** A row from Java values: strings, ints, and Longs as timestamps in milliseconds. */
  private static InternalRow row(Object... values) {
    Object[] cells = new Object[values.length];
    for (int i = 0; i < values.length; i++) {
      Object value = values[i];
      if (value instanceof String s) {
        cells[i] = UTF8String.fromString(s);
      } else if (value instanceof Long millis) {
        cells[i] = millis * 1000L;  // Spark keeps timestamps in microseconds
      } else {
        cells[i] = value;
      }
    }
    return new GenericInternalRow(cells);
  }

  /** The information schema's relations as a catalog lists them. */
  static Identifier[] identifiers() {
    Identifier[] found = new Identifier[VIEWS.length];
    for (int i = 0; i < VIEWS.length; i++) {
      found[i] = Identifier.of(new String[] {SCHEMA}, VIEWS[i]);
    }
    return found;
  }
}
