"""JVM set-up, the same for every cluster: Java found, Maven coordinates resolved into the
user's cache, podium's own jar built from `sources/`, and the class-data archive drivers
map. Nothing here knows what a cluster is; `compute/` asks it for jars and options."""
