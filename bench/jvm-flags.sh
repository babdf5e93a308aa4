# Sourced by the bench scripts and the scemu launcher: the JVM flags Chronicle Bytes needs.
SCEMU_JVM_FLAGS="--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/jdk.internal.util=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --enable-native-access=ALL-UNNAMED -Ddisable.perf.info=true -Dchronicle.analytics.disable=true"
# the major version from the JDK's release file (no JVM started just to ask; that cost 0.1-0.6 s per
# scemu command), else from the JVM itself
SCEMU_JAVA_MAJOR=""
scemu_java_bin=$(readlink -f "$(command -v java)" 2>/dev/null || true)
if [ -n "$scemu_java_bin" ] && [ -f "${scemu_java_bin%/bin/java}/release" ]; then
  SCEMU_JAVA_MAJOR=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "${scemu_java_bin%/bin/java}/release")
fi
if [ -z "$SCEMU_JAVA_MAJOR" ]; then
  SCEMU_JAVA_MAJOR=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
fi
if [ "${SCEMU_JAVA_MAJOR:-17}" -ge 24 ]; then
  SCEMU_JVM_FLAGS="$SCEMU_JVM_FLAGS --sun-misc-unsafe-memory-access=allow"
fi
export SCEMU_JVM_FLAGS
