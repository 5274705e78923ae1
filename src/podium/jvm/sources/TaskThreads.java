package podium.spark;

import org.apache.spark.SparkContext;
import org.apache.spark.sql.classic.SparkSession;

/**
 * What a task's thread needs before its Spark work, in one call from Python (each Py4J
 * call is a round trip): its session the thread's active one, its job group (cancelled
 * with an interrupt), its job tags and its FAIR pool.
 */
public final class TaskThreads {
  private TaskThreads() {}

  public static void bind(SparkSession session, String group, String description,
                          String tags, String pool) {
    SparkSession.setActiveSession(session);
    SparkContext context = session.sparkContext();
    context.setJobGroup(group, description, true);
    context.clearJobTags();
    for (String tag : tags.split(",")) {
      if (!tag.isEmpty()) {
        context.addJobTag(tag);
      }
    }
    context.setLocalProperty("spark.scheduler.pool", pool);
  }
}
