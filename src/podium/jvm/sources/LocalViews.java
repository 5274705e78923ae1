package podium.spark;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.spark.sql.connector.catalog.View;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

/**
 * The views of a Unity Catalog-style catalog (`main.sales.v`), kept beside its tables: a
 * file `<name>.view.json` in the schema's warehouse folder holds the view's query, the
 * catalog and schema it was written in, its columns and properties. Every application and
 * process reads the same files, as they read the same table folders; the warehouse scan
 * looks at folders only, so these files are no tables to it.
 */
final class LocalViews {
  static final String SUFFIX = ".view.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private LocalViews() {}

  static File file(File schemaFolder, String name) {
    return new File(schemaFolder, name + SUFFIX);
  }

  /** The names of the views in a schema's folder. */
  static List<String> names(File schemaFolder) {
    List<String> found = new ArrayList<>();
    String[] files = schemaFolder.list();
    for (String name : files == null ? new String[0] : files) {
      if (name.endsWith(SUFFIX)) {
        found.add(name.substring(0, name.length() - SUFFIX.length()));
      }
    }
    return found;
  }

  /** The view kept in `file`, or null when there is none. */
  @SuppressWarnings("unchecked")
  static View read(File file) {
    Map<String, Object> kept;
    try {
      kept = JSON.readValue(file, Map.class);
    } catch (IOException none) {
      return null;
    }
    List<String> namespace = (List<String>) kept.getOrDefault("current_namespace", List.of());
    List<String> columns = (List<String>) kept.getOrDefault("query_column_names", List.of());
    View.Builder view = new View.Builder()
        .withQueryText((String) kept.get("query"))
        .withCurrentCatalog((String) kept.get("current_catalog"))
        .withCurrentNamespace(namespace.toArray(new String[0]))
        .withSqlConfigs((Map<String, String>) kept.getOrDefault("sql_configs", Map.of()))
        .withQueryColumnNames(columns.toArray(new String[0]));
    if (kept.get("schema_mode") != null) {
      view = view.withSchemaMode((String) kept.get("schema_mode"));
    }
    view.withSchema((StructType) DataType.fromJson((String) kept.get("schema")));
    view.withProperties((Map<String, String>) kept.getOrDefault("properties", Map.of()));
    return view.build();
  }

  /** Write `view` to `file` whole: readers see the old view or the new one. */
  static void write(File file, View view) throws IOException {
    Map<String, Object> kept = new LinkedHashMap<>();
    kept.put("query", view.queryText());
    kept.put("current_catalog", view.currentCatalog());
    kept.put("current_namespace", view.currentNamespace() == null ? List.of()
             : List.of(view.currentNamespace()));
    kept.put("schema", view.schema().json());
    kept.put("query_column_names", view.queryColumnNames() == null ? List.of()
             : List.of(view.queryColumnNames()));
    kept.put("sql_configs", view.sqlConfigs() == null ? Map.of() : view.sqlConfigs());
    kept.put("schema_mode", view.schemaMode());
    kept.put("properties", view.properties() == null ? Map.of() : view.properties());
    File temp = new File(file.getParentFile(), "." + file.getName() + ".tmp");
    Files.writeString(temp.toPath(), JSON.writeValueAsString(kept), StandardCharsets.UTF_8);
    Files.move(temp.toPath(), file.toPath(), StandardCopyOption.REPLACE_EXISTING,
               StandardCopyOption.ATOMIC_MOVE);
  }
}
