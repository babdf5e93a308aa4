# Sourced by the bench scripts and the scemu launcher: the JVM flags Chronicle Bytes needs.
SCEMU_JVM_FLAGS="--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/jdk.internal.util=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --enable-native-access=ALL-UNNAMED -Ddisable.perf.info=true -Dchronicle.analytics.disable=true"
SCEMU_JAVA_MAJOR=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
if [ "${SCEMU_JAVA_MAJOR:-17}" -ge 24 ]; then
  SCEMU_JVM_FLAGS="$SCEMU_JVM_FLAGS --sun-misc-unsafe-memory-access=allow"
fi
export SCEMU_JVM_FLAGS
