package podium.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.spark.sql.catalyst.analysis.NamespaceAlreadyExistsException;
import org.apache.spark.sql.catalyst.analysis.NoSuchNamespaceException;
import org.apache.spark.sql.catalyst.analysis.NoSuchTableException;
import org.apache.spark.sql.catalyst.analysis.NoSuchViewException;
import org.apache.spark.sql.catalyst.analysis.NonEmptyNamespaceException;
import org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException;
import org.apache.spark.sql.catalyst.analysis.ViewAlreadyExistsException;
import org.apache.spark.sql.connector.catalog.CatalogPlugin;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.NamespaceChange;
import org.apache.spark.sql.connector.catalog.StagedTable;
import org.apache.spark.sql.connector.catalog.StagingTableCatalog;
import org.apache.spark.sql.connector.catalog.SupportsNamespaces;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCatalog;
import org.apache.spark.sql.connector.catalog.TableCatalogCapability;
import org.apache.spark.sql.connector.catalog.TableChange;
import org.apache.spark.sql.connector.catalog.Relation;
import org.apache.spark.sql.connector.catalog.RelationCatalog;
import org.apache.spark.sql.connector.catalog.View;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * A Unity Catalog-style catalog (`main`, `samples`, ...) kept in Spark's session catalog, so
 * its tables live in the same warehouse folder and every application sees them: schema `s`
 * of catalog `c` is the session database `c__s`; `hive_metastore` (prefix "") is the session
 * catalog itself. Every call goes to the session catalog (Delta's, when Delta is on) with the
 * schema renamed.
 *
 * A catalog with a `location` option (`samples`) also has the Delta tables found in folders
 * `location/<schema>/<table>`; each is registered as an external table the first time it is
 * asked for, so a catalog nobody reads costs nothing.
 *
 * As in Unity Catalog, every catalog has a schema `default` (made when first needed) and an
 * `information_schema` (`InformationSchema`), which no one can create, change or drop. Its
 * views are files beside its tables (`LocalViews`); `hive_metastore`'s are Spark's own.
 */
public class LocalCatalog implements StagingTableCatalog, SupportsNamespaces, RelationCatalog {
    public static final String SEPARATOR = "__";
    public static final String HIVE_METASTORE = "hive_metastore";
    private static final String DEFAULT = "default";
    private String name;
    private String prefix;
    private java.io.File location;

    @Override
    public void initialize(String name, CaseInsensitiveStringMap options) {
        this.name = name;
        this.prefix = options.containsKey("prefix") ? options.get("prefix") : name + SEPARATOR;
        this.location = options.containsKey("location") ? new java.io.File(options.get("location"))
            : null;
    }

    private String[] locatedSchemas() {
        String[] found = location == null ? null : location.list();
        return found == null ? new String[0] : found;
    }

    /** Registers the located schema `schema` and its tables in the session catalog. */
    private void registerLocated(String schema) {
        java.io.File folder = location == null ? null : new java.io.File(location, schema);
        if (folder == null || !folder.isDirectory()) {
            return;
        }
        org.apache.spark.sql.classic.SparkSession spark =
            org.apache.spark.sql.classic.SparkSession.active();
        String database = "spark_catalog.`" + prefix + schema + "`";
        spark.sql("CREATE DATABASE IF NOT EXISTS " + database);
        String[] names = folder.list();
        for (String table : names == null ? new String[0] : names) {
            java.io.File path = new java.io.File(folder, table);
            if (new java.io.File(path, "_delta_log").isDirectory()
                    && !tables().tableExists(
                        Identifier.of(new String[] {prefix + schema}, table))) {
                spark.sql("CREATE TABLE IF NOT EXISTS " + database + ".`" + table
                          + "` USING delta LOCATION '" + path.getAbsolutePath() + "'");
            }
        }
    }

    @Override
    public String name() {
        return name;
    }

    /** The session database that holds this catalog's schema `schema`. */
    String sessionDatabase(String schema) {
        return prefix + schema;
    }

    /** When the catalog was made (its `default` schema's folder), in milliseconds. */
    Long created() {
        return createdSchema(DEFAULT);
    }

    /** When schema `schema` was made (its folder's time), in milliseconds; null if unknown. */
    Long createdSchema(String schema) {
        java.io.File folder = new java.io.File(
            InformationSchema.warehouse(org.apache.spark.sql.classic.SparkSession.active()),
            prefix + schema + ".db");
        return folder.isDirectory() ? folder.lastModified() : null;
    }

    private static boolean isInformationSchema(String[] namespace) {
        return namespace.length == 1 && namespace[0].equalsIgnoreCase(InformationSchema.SCHEMA);
    }

    /** Makes the schema `default` if this catalog still exists and lacks one. */
    private void ensureDefault() {
        if (prefix.isEmpty() || namespaces().namespaceExists(new String[] {prefix + DEFAULT})) {
            return;
        }
        org.apache.spark.sql.classic.SparkSession spark =
            org.apache.spark.sql.classic.SparkSession.active();
        if (!spark.conf().contains("spark.sql.catalog." + name)) {
            return;  // dropped in this session
        }
        try {
            namespaces().createNamespace(new String[] {prefix + DEFAULT},
                                         new java.util.HashMap<>());
        } catch (NamespaceAlreadyExistsException made) {
            // by another session meanwhile
        }
    }

    private CatalogPlugin session() {
        return org.apache.spark.sql.classic.SparkSession.active().sessionState()
            .catalogManager().v2SessionCatalog();
    }

    private TableCatalog tables() {
        return (TableCatalog) session();
    }

    private SupportsNamespaces namespaces() {
        return (SupportsNamespaces) session();
    }

    private StagingTableCatalog staging() {
        CatalogPlugin catalog = session();
        if (!(catalog instanceof StagingTableCatalog)) {
            throw new UnsupportedOperationException(
                "catalog " + name + " needs Delta Lake on this cluster (spark.podium.delta)");
        }
        return (StagingTableCatalog) catalog;
    }

    private boolean mine(String database) {
        return prefix.isEmpty() ? !database.contains(SEPARATOR) : database.startsWith(prefix);
    }

    private String[] inSession(String[] namespace) throws NoSuchNamespaceException {
        if (namespace.length != 1) {
            throw new NoSuchNamespaceException(namespace);
        }
        return new String[] {prefix + namespace[0]};
    }

    private Identifier inSession(Identifier ident) throws NoSuchTableException {
        if (ident.namespace().length != 1) {
            throw new NoSuchTableException(ident);
        }
        return Identifier.of(new String[] {prefix + ident.namespace()[0]}, ident.name());
    }

    private Identifier quietly(Identifier ident) {
        return Identifier.of(new String[] {prefix + String.join(".", ident.namespace())},
                             ident.name());
    }

    private Identifier ours(Identifier ident) {
        String database = ident.namespace()[ident.namespace().length - 1];
        return Identifier.of(new String[] {database.substring(prefix.length())}, ident.name());
    }

    @Override
    public String[] defaultNamespace() {
        return new String[] {"default"};
    }

    @Override
    public Set<TableCatalogCapability> capabilities() {
        return tables().capabilities();
    }

    @Override
    public boolean useNullableQuerySchema() {
        return tables().useNullableQuerySchema();
    }

    // Namespaces (schemas)

    @Override
    public String[][] listNamespaces() throws NoSuchNamespaceException {
        List<String[]> found = new ArrayList<>();
        for (String schema : locatedSchemas()) {
            registerLocated(schema);
        }
        ensureDefault();
        for (String[] ns : namespaces().listNamespaces()) {
            if (ns.length == 1 && mine(ns[0])) {
                found.add(new String[] {ns[0].substring(prefix.length())});
            }
        }
        if (!prefix.isEmpty()) {
            found.add(new String[] {InformationSchema.SCHEMA});
        }
        return found.toArray(new String[0][]);
    }

    @Override
    public String[][] listNamespaces(String[] namespace) throws NoSuchNamespaceException {
        if (namespace.length == 0) {
            return listNamespaces();
        }
        if (!namespaceExists(namespace)) {
            throw new NoSuchNamespaceException(namespace);
        }
        return new String[0][];
    }

    @Override
    public boolean namespaceExists(String[] namespace) {
        if (isInformationSchema(namespace)) {
            return !prefix.isEmpty();
        }
        if (namespace.length == 1 && namespace[0].equalsIgnoreCase(DEFAULT)) {
            ensureDefault();
        }
        if (namespace.length == 1 && !namespaces().namespaceExists(
                new String[] {prefix + namespace[0]})) {
            registerLocated(namespace[0]);
        }
        return namespace.length == 1 && namespaces().namespaceExists(
            new String[] {prefix + namespace[0]});
    }

    @Override
    public Map<String, String> loadNamespaceMetadata(String[] namespace)
            throws NoSuchNamespaceException {
        if (isInformationSchema(namespace) && !prefix.isEmpty()) {
            return new java.util.HashMap<>();
        }
        if (namespace.length == 1 && namespace[0].equalsIgnoreCase(DEFAULT)) {
            ensureDefault();
        }
        return namespaces().loadNamespaceMetadata(inSession(namespace));
    }

    @Override
    public void createNamespace(String[] namespace, Map<String, String> metadata)
            throws NamespaceAlreadyExistsException {
        if (namespace.length != 1) {
            throw new UnsupportedOperationException(
                "a schema name has one part in catalog " + name);
        }
        if (isInformationSchema(namespace) && !prefix.isEmpty()) {
            throw new NamespaceAlreadyExistsException(new String[] {name, namespace[0]});
        }
        namespaces().createNamespace(new String[] {prefix + namespace[0]}, metadata);
    }

    @Override
    public void alterNamespace(String[] namespace, NamespaceChange... changes)
            throws NoSuchNamespaceException {
        refuseInformationSchema(namespace);
        namespaces().alterNamespace(inSession(namespace), changes);
    }

    @Override
    public boolean dropNamespace(String[] namespace, boolean cascade)
            throws NoSuchNamespaceException, NonEmptyNamespaceException {
        refuseInformationSchema(namespace);
        return namespaces().dropNamespace(inSession(namespace), cascade);
    }

    private void refuseInformationSchema(String[] namespace) {
        if (isInformationSchema(namespace) && !prefix.isEmpty()) {
            throw new UnsupportedOperationException(
                name + ".information_schema is read-only; it describes the catalog");
        }
    }

    // Tables

    @Override
    public Identifier[] listTables(String[] namespace) throws NoSuchNamespaceException {
        if (isInformationSchema(namespace) && !prefix.isEmpty()) {
            return InformationSchema.identifiers();
        }
        if (namespace.length == 1) {
            registerLocated(namespace[0]);
        }
        Identifier[] found = tables().listTables(inSession(namespace));
        Identifier[] renamed = new Identifier[found.length];
        for (int i = 0; i < found.length; i++) {
            renamed[i] = ours(found[i]);
        }
        return renamed;
    }

    @Override
    public Table loadTable(Identifier ident) throws NoSuchTableException {
        if (isInformationSchema(ident.namespace()) && !prefix.isEmpty()) {
            if (!InformationSchema.isView(ident.name())) {
                throw new NoSuchTableException(ident);
            }
            return InformationSchema.table(name, ident.name());
        }
        try {
            return tables().loadTable(inSession(ident));
        } catch (NoSuchTableException missing) {
            if (location == null || ident.namespace().length != 1) {
                throw missing;
            }
            registerLocated(ident.namespace()[0]);
            return tables().loadTable(inSession(ident));
        }
    }

    @Override
    public Table loadTable(Identifier ident, String version) throws NoSuchTableException {
        return tables().loadTable(inSession(ident), version);
    }

    @Override
    public Table loadTable(Identifier ident, long timestamp) throws NoSuchTableException {
        return tables().loadTable(inSession(ident), timestamp);
    }

    @Override
    public void invalidateTable(Identifier ident) {
        tables().invalidateTable(quietly(ident));
    }

    @Override
    public boolean tableExists(Identifier ident) {
        if (isInformationSchema(ident.namespace()) && !prefix.isEmpty()) {
            return InformationSchema.isView(ident.name());
        }
        return ident.namespace().length == 1 && tables().tableExists(quietly(ident));
    }

    @Override
    public Table createTable(Identifier ident, Column[] columns, Transform[] partitions,
                             Map<String, String> properties)
            throws TableAlreadyExistsException, NoSuchNamespaceException {
        return tables().createTable(quietly(ident), columns, partitions, properties);
    }

    @Override
    public Table alterTable(Identifier ident, TableChange... changes)
            throws NoSuchTableException {
        return tables().alterTable(inSession(ident), changes);
    }

    @Override
    public boolean dropTable(Identifier ident) {
        return tables().dropTable(quietly(ident));
    }

    @Override
    public boolean purgeTable(Identifier ident) {
        return tables().purgeTable(quietly(ident));
    }

    @Override
    public void renameTable(Identifier from, Identifier to)
            throws NoSuchTableException, TableAlreadyExistsException {
        tables().renameTable(inSession(from), inSession(to));
    }

    // Views

    private java.io.File schemaFolder(String schema) {
        return new java.io.File(
            InformationSchema.warehouse(org.apache.spark.sql.classic.SparkSession.active()),
            prefix + schema + ".db");
    }

    private java.io.File viewFile(Identifier ident) throws NoSuchViewException {
        if (prefix.isEmpty() || ident.namespace().length != 1) {
            throw new NoSuchViewException(ident);
        }
        return LocalViews.file(schemaFolder(ident.namespace()[0]), ident.name());
    }

    @Override
    public Identifier[] listViews(String[] namespace) throws NoSuchNamespaceException {
        if (prefix.isEmpty() || isInformationSchema(namespace)) {
            return new Identifier[0];
        }
        if (!namespaceExists(namespace)) {
            throw new NoSuchNamespaceException(namespace);
        }
        return LocalViews.names(schemaFolder(namespace[0])).stream()
            .map(view -> Identifier.of(namespace, view)).toArray(Identifier[]::new);
    }

    @Override
    public Relation loadRelation(Identifier ident) throws NoSuchTableException {
        try {
            return loadTable(ident);
        } catch (NoSuchTableException notATable) {
            try {
                return loadView(ident);
            } catch (NoSuchViewException notAView) {
                throw notATable;
            }
        }
    }

    @Override
    public boolean viewExists(Identifier ident) {
        try {
            return viewFile(ident).exists();
        } catch (NoSuchViewException none) {
            return false;
        }
    }

    @Override
    public View loadView(Identifier ident) throws NoSuchViewException {
        View view = LocalViews.read(viewFile(ident));
        if (view == null) {
            throw new NoSuchViewException(ident);
        }
        return view;
    }

    @Override
    public View createView(Identifier ident, View view)
            throws ViewAlreadyExistsException, NoSuchNamespaceException {
        if (prefix.isEmpty()) {
            throw new UnsupportedOperationException("a view in hive_metastore has a "
                + "two-level name: CREATE VIEW schema.view");
        }
        if (!namespaceExists(ident.namespace()) || isInformationSchema(ident.namespace())) {
            throw new NoSuchNamespaceException(ident.namespace());
        }
        java.io.File file;
        try {
            file = viewFile(ident);
        } catch (NoSuchViewException unreachable) {
            throw new NoSuchNamespaceException(ident.namespace());
        }
        if (file.exists() || tableExists(ident)) {
            throw new ViewAlreadyExistsException(ident);
        }
        return written(file, view);
    }

    @Override
    public View replaceView(Identifier ident, View view) throws NoSuchViewException {
        java.io.File file = viewFile(ident);
        if (!file.exists()) {
            throw new NoSuchViewException(ident);
        }
        return written(file, view);
    }

    private View written(java.io.File file, View view) {
        try {
            LocalViews.write(file, view);
        } catch (java.io.IOException failed) {
            throw new UnsupportedOperationException("cannot keep view at " + file + ": "
                + failed.getMessage());
        }
        return view;
    }

    @Override
    public boolean dropView(Identifier ident) {
        try {
            return viewFile(ident).delete();
        } catch (NoSuchViewException none) {
            return false;
        }
    }

    @Override
    public void renameView(Identifier from, Identifier to)
            throws NoSuchViewException, ViewAlreadyExistsException {
        java.io.File source = viewFile(from);
        java.io.File target = viewFile(to);
        if (!source.exists()) {
            throw new NoSuchViewException(from);
        }
        if (target.exists()) {
            throw new ViewAlreadyExistsException(to);
        }
        if (!source.renameTo(target)) {
            throw new NoSuchViewException(from);
        }
    }

    // Atomic CREATE/REPLACE ... AS SELECT (Delta's)

    @Override
    public StagedTable stageCreate(Identifier ident, Column[] columns, Transform[] partitions,
                                   Map<String, String> properties)
            throws TableAlreadyExistsException, NoSuchNamespaceException {
        return staging().stageCreate(quietly(ident), columns, partitions, properties);
    }

    @Override
    public StagedTable stageReplace(Identifier ident, Column[] columns, Transform[] partitions,
                                    Map<String, String> properties)
            throws NoSuchNamespaceException, NoSuchTableException {
        return staging().stageReplace(quietly(ident), columns, partitions, properties);
    }

    @Override
    public StagedTable stageCreateOrReplace(Identifier ident, Column[] columns,
                                            Transform[] partitions,
                                            Map<String, String> properties)
            throws NoSuchNamespaceException {
        return staging().stageCreateOrReplace(quietly(ident), columns, partitions, properties);
    }
}
