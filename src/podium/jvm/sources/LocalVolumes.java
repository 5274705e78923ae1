package podium.spark;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFs;
import org.apache.hadoop.fs.DelegateToFileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FsConstants;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * The local file system with Databricks' mounts: `/Volumes/...` and
 * `/databricks-datasets/...` are the folders podium keeps them in (Hadoop settings
 * `podium.dbfs` and `podium.datasets`), for every Spark read and write of a plain path,
 * from Python and Scala as from SQL. Paths keep their Databricks names in listings and
 * errors; only the file behind them moves.
 *
 * It is the driver's `fs.file.impl`, and `Fs` its `fs.AbstractFileSystem.file.impl` (what
 * `FileContext` uses: Delta's log writes), set by `Plugin` (in `spark.plugins`) as the
 * application starts: Hadoop loads a `spark.hadoop.fs.file.impl` class while
 * `spark-submit` starts, before `spark.jars` are on the class path.
 */
public final class LocalVolumes extends LocalFileSystem {
  public LocalVolumes() {
    super(new Raw());
  }

  /** The raw file system under the checksums: where the mapping happens, and the
   * statuses it gives back named as they were asked for. */
  public static final class Raw extends RawLocalFileSystem {
    @Override
    public File pathToFile(Path path) {
      File file = super.pathToFile(path);
      String local = mapped(file.getPath(), getConf());
      return local == null ? file : new File(local);
    }

    @Override
    public FileStatus getFileStatus(Path path) throws IOException {
      return named(super.getFileStatus(path));
    }

    @Override
    public FileStatus getFileLinkStatus(Path path) throws IOException {
      return named(super.getFileLinkStatus(path));
    }

    @Override
    public FileStatus[] listStatus(Path path) throws IOException {
      FileStatus[] statuses = super.listStatus(path);
      for (FileStatus status : statuses) {
        named(status);
      }
      return statuses;
    }

    private FileStatus named(FileStatus status) {
      String real = status.getPath().toUri().getPath();
      String shown = unmapped(real, getConf());
      if (shown != null) {
        status.setPath(new Path("file", null, shown).makeQualified(getUri(),
            getWorkingDirectory()));
      }
      return status;
    }
  }

  /** The same for `FileContext`, with checksums as Hadoop's own `LocalFs`. */
  public static final class Fs extends ChecksumFs {
    public Fs(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(new RawFs(uri, conf));
    }
  }

  /** `Raw` as an `AbstractFileSystem`. */
  public static final class RawFs extends DelegateToFileSystem {
    public RawFs(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(uri, new Raw(), conf, FsConstants.LOCAL_FS_URI.getScheme(), false);
    }

    @Override
    public int getUriDefaultPort() {
      return -1;
    }

    @Override
    public boolean isValidName(String src) {
      return true;  // as Hadoop's RawLocalFs: local names are not checked
    }
  }

  /** Makes this the application's local file system, in classic drivers and Connect
   * servers alike. */
  public static final class Plugin implements SparkPlugin {
    @Override
    public DriverPlugin driverPlugin() {
      return new DriverPlugin() {
        @Override
        public Map<String, String> init(SparkContext context, PluginContext plugin) {
          Configuration hadoop = context.hadoopConfiguration();
          hadoop.set("fs.file.impl", LocalVolumes.class.getName());
          hadoop.set("fs.AbstractFileSystem.file.impl", Fs.class.getName());
          try {  // the one Hadoop cached while starting goes on working for its holders
            FileSystem.getLocal(hadoop).close();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          return Map.of();
        }
      };
    }

    @Override
    public ExecutorPlugin executorPlugin() {
      return null;
    }
  }

  /** The Databricks name of a real path under a mount, or null. */
  static String unmapped(String path, Configuration conf) {
    if (conf == null) {
      return null;
    }
    String dbfs = conf.get("podium.dbfs");
    if (dbfs != null && (path.startsWith(dbfs + "/Volumes/") || path.equals(dbfs + "/Volumes"))) {
      return path.substring(dbfs.length());
    }
    String datasets = conf.get("podium.datasets");
    if (datasets != null && (path.startsWith(datasets + "/") || path.equals(datasets))) {
      return "/databricks-datasets" + path.substring(datasets.length());
    }
    return null;
  }

  /** Where `path` really is, or null if it is not under a Databricks mount. */
  static String mapped(String path, Configuration conf) {
    if (conf == null) {
      return null;
    }
    if (path.startsWith("/Volumes/") || path.equals("/Volumes")) {
      String dbfs = conf.get("podium.dbfs");
      return dbfs == null ? null : dbfs + path;
    }
    if (path.startsWith("/databricks-datasets/") || path.equals("/databricks-datasets")) {
      String datasets = conf.get("podium.datasets");
      return datasets == null ? null : datasets + path.substring("/databricks-datasets".length());
    }
    return null;
  }
}
