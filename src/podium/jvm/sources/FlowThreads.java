package podium.spark;

import java.util.Map;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Makes Spark Declarative Pipelines run each flow on a new thread (a driver plugin, in
 * `spark.plugins`). Spark runs every update's flows on one cached thread pool, and a
 * pool thread keeps the job tags and group of the update that created it: a thread's
 * local properties are copied when it starts. A flow on a reused thread so ran its Spark
 * jobs under an earlier, finished update's tags, where cancelling its own task's tag (a
 * timeout, a cancel) could not reach them. With no idle thread kept, each flow's thread
 * is made by its own update's thread and carries that update's tags.
 */
public final class FlowThreads implements SparkPlugin {
  static final String POOL_OWNER = "org.apache.spark.sql.pipelines.graph.FlowExecution$";
  static final String POOL = "org$apache$spark$sql$pipelines$graph$FlowExecution$$threadPool";

  /** Keep no idle flow thread; false on a Spark without pipelines or with another pool. */
  public static boolean unshare() {
    try {
      Class<?> owner = Class.forName(POOL_OWNER);
      Object module = owner.getField("MODULE$").get(null);
      Object pool = owner.getMethod(POOL).invoke(module);
      ((ThreadPoolExecutor) pool).setKeepAliveTime(0, TimeUnit.NANOSECONDS);
      return true;
    } catch (ReflectiveOperationException | LinkageError | ClassCastException
        | IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public DriverPlugin driverPlugin() {
    return new DriverPlugin() {
      @Override
      public Map<String, String> init(SparkContext context, PluginContext plugin) {
        unshare();
        return Map.of();
      }
    };
  }

  @Override
  public ExecutorPlugin executorPlugin() {
    return null;
  }
}
