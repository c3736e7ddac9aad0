# Finds a JDK (or JRE) of version 25 or later. Sourced by ./thanosj and bench/run; defines functions only.
#
#   thanosj_find_jdk25    sets THANOSJ_JDK to its home, or prints why not to stderr and returns 1.
#
# Order: $JAVA_HOME if it is >= 25, then the `java` on PATH if it is >= 25, then the highest >= 25
# under /usr/lib/jvm (Debian/Ubuntu, Temurin packages), /usr/java and /opt/java.

# Prints the feature version (25 for 25.0.3) of the JDK at home $1, or nothing when it is not a JDK.
thanosj_java_feature() {
    local home=$1 version=
    [[ -x $home/bin/java ]] || return 0
    if [[ -r $home/release ]]; then
        version=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$home/release")
    fi
    if [[ -z $version ]]; then
        version=$("$home/bin/java" -XshowSettings:properties -version 2>&1 |
            sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p')
    fi
    printf '%s' "$version"
}

thanosj_find_jdk25() {
    local home version best= best_version=0 java_on_path
    if [[ -n ${JAVA_HOME:-} ]]; then
        version=$(thanosj_java_feature "$JAVA_HOME")
        if [[ -n $version ]] && ((version >= 25)); then
            THANOSJ_JDK=$JAVA_HOME
            return 0
        fi
    fi
    if java_on_path=$(command -v java); then
        home=$(dirname "$(dirname "$(readlink -f "$java_on_path")")")
        version=$(thanosj_java_feature "$home")
        if [[ -n $version ]] && ((version >= 25)); then
            THANOSJ_JDK=$home
            return 0
        fi
    fi
    for home in /usr/lib/jvm/* /usr/java/* /opt/java/*; do
        [[ -d $home && ! -L $home ]] || continue
        version=$(thanosj_java_feature "$home")
        if [[ -n $version ]] && ((version >= 25 && version > best_version)); then
            best=$home
            best_version=$version
        fi
    done
    if [[ -n $best ]]; then
        THANOSJ_JDK=$best
        return 0
    fi
    {
        echo "thanosj: no JDK 25 or later found."
        echo "  Looked at: JAVA_HOME (${JAVA_HOME:-unset}), java on PATH (${java_on_path:-none}), /usr/lib/jvm/*, /usr/java/*, /opt/java/*."
        echo "  Install one (for example Eclipse Temurin 25: https://adoptium.net) or set JAVA_HOME to it."
    } >&2
    return 1
}
