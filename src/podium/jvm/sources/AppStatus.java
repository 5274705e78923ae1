package podium.spark;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;
import org.apache.spark.JobExecutionStatus;
import org.apache.spark.SparkContext;
import org.apache.spark.status.AppStatusStore;
import org.apache.spark.status.api.v1.ExecutorSummary;
import org.apache.spark.status.api.v1.JobData;
import org.apache.spark.status.api.v1.StageData;
import org.apache.spark.status.api.v1.StageStatus;
import org.apache.spark.status.api.v1.TaskStatus;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The application's jobs and stage attempts as the monitoring REST API's JSON has them
 * (`/api/v1/applications/<id>/jobs` and `/stages?details=false`), the fields podium reads,
 * straight from the status store: the REST layer costs a second and more of the driver's
 * CPU the first time it answers, which a short cold run otherwise pays to report its cost.
 */
public final class AppStatus {
  private AppStatus() {}

  public static String jobs(SparkContext context) {
    StringBuilder out = new StringBuilder("[");
    for (JobData job : CollectionConverters.asJava(context.statusStore().jobsList(null))) {
      if (out.length() > 1) {
        out.append(',');
      }
      out.append("{\"jobId\":").append(job.jobId())
          .append(",\"status\":\"").append(job.status().name())
          .append("\",\"numTasks\":").append(job.numTasks())
          .append(",\"numCompletedTasks\":").append(job.numCompletedTasks())
          .append(",\"numSkippedTasks\":").append(job.numSkippedTasks())
          .append(",\"stageIds\":[");
      boolean first = true;
      for (Object id : CollectionConverters.asJava(job.stageIds())) {
        out.append(first ? "" : ",").append(id);
        first = false;
      }
      out.append("],\"jobTags\":[");
      first = true;
      for (String tag : CollectionConverters.asJava(job.jobTags())) {
        out.append(first ? "" : ",");
        quote(out, tag);
        first = false;
      }
      out.append("]}");
    }
    return out.append(']').toString();
  }

  public static String stages(SparkContext context) {
    AppStatusStore store = context.statusStore();
    List<TaskStatus> none = store.stageList$default$5();
    StringBuilder out = new StringBuilder("[");
    for (StageData stage : CollectionConverters.asJava(
        store.stageList(null, false, false, new double[0], none))) {
      if (out.length() > 1) {
        out.append(',');
      }
      out.append("{\"stageId\":").append(stage.stageId())
          .append(",\"attemptId\":").append(stage.attemptId())
          .append(",\"status\":\"").append(stage.status().name())
          .append("\",\"numCompleteTasks\":").append(stage.numCompleteTasks())
          .append(",\"numFailedTasks\":").append(stage.numFailedTasks())
          .append(",\"executorRunTime\":").append(stage.executorRunTime())
          .append(",\"executorCpuTime\":").append(stage.executorCpuTime())
          .append(",\"inputRecords\":").append(stage.inputRecords())
          .append(",\"inputBytes\":").append(stage.inputBytes())
          .append(",\"outputRecords\":").append(stage.outputRecords())
          .append(",\"outputBytes\":").append(stage.outputBytes())
          .append(",\"shuffleReadBytes\":").append(stage.shuffleReadBytes())
          .append(",\"shuffleWriteBytes\":").append(stage.shuffleWriteBytes())
          .append('}');
    }
    return out.append(']').toString();
  }

  /**
   * What the adaptive rule reads of the cluster's load, as counts: the active executors'
   * cores and running tasks, the active stages' tasks not yet running or done, and the
   * running jobs (`/executors`, `/stages?status=active`, `/jobs?status=running`).
   */
  public static String load(SparkContext context) {
    AppStatusStore store = context.statusStore();
    int cores = 0;
    int busy = 0;
    for (ExecutorSummary executor : CollectionConverters.asJava(store.executorList(true))) {
      if (executor.isActive()) {
        cores += executor.totalCores();
        busy += executor.activeTasks();
      }
    }
    int pending = 0;
    for (StageData stage : CollectionConverters.asJava(store.stageList(
        List.of(StageStatus.ACTIVE), false, false, new double[0],
        store.stageList$default$5()))) {
      pending += Math.max(0, stage.numTasks() - stage.numActiveTasks()
          - stage.numCompleteTasks());
    }
    int jobs = store.jobsList(List.of(JobExecutionStatus.RUNNING)).size();
    return "{\"cores\":" + cores + ",\"busy\":" + busy + ",\"pending\":" + pending
        + ",\"active_jobs\":" + jobs + "}";
  }

  /**
   * The driver JVM's heap and collections, as the metrics servlet's JVM source gauges have
   * them (`pools.*.used-after-gc`, `heap.max`, the collectors' `time`), without an HTTP
   * request and the servlet's JSON of every metric: the live heap after the last
   * collections, the heap's maximum, and the milliseconds spent collecting so far.
   */
  public static String jvm() {
    long live = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      MemoryUsage after = pool.getType() == MemoryType.HEAP ? pool.getCollectionUsage() : null;
      if (after != null) {
        live += after.getUsed();
      }
    }
    long gc = 0;
    for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
      gc += Math.max(0, collector.getCollectionTime());
    }
    long max = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getMax();
    return "{\"heap_live\":" + live + ",\"heap_max\":" + max + ",\"gc_ms\":" + gc + "}";
  }

  private static void quote(StringBuilder out, String text) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    out.append('"');
  }
}
