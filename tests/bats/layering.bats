#!/usr/bin/env bats
# The module dependency rule of ARCHITECTURE.md holds: a file in
# lib/tccp/<m>/ includes "tccp/<other>/..." only for the modules listed after
# <m>'s arrow (plus its own module and generated code).

load helpers/common

# check_layering ROOT: prints each broken include as
# "lib/tccp/<m>/<file>: includes tccp/<other>/ but <m> may use only: ..."
# and fails when there is one.
check_layering() {
    local root=$1 rules module allowed file other broken=0 words
    # "    config -> proto core util     description" -> "config proto core util"
    rules=$(sed -n 's/^    \([a-z]*\) *-> \(.*\)$/\1 \2/p' "$root/ARCHITECTURE.md" |
        sed 's/   .*$//; s/(nothing of tccp)//; s/(every module)/*/')
    if [ -z "$rules" ]; then
        echo "no module rule found in $root/ARCHITECTURE.md"
        return 1
    fi
    for dir in "$root"/lib/tccp/*/; do
        module=$(basename "$dir")
        [ "$module" = generated ] && continue
        allowed=$(awk -v m="$module" '$1 == m { $1 = ""; print; found = 1 } END { if (!found) print "?" }' <<<"$rules")
        if [ "$allowed" = "?" ]; then
            echo "lib/tccp/$module/: module missing from the rule in ARCHITECTURE.md"
            broken=1
            continue
        fi
        read -r -a words <<<"$allowed"
        allowed="${words[*]}"
        [ "$allowed" = "*" ] && continue
        for file in "$dir"*.cpp "$dir"*.hpp; do
            [ -e "$file" ] || continue
            for other in $(sed -n 's|^ *# *include *"tccp/\([a-z_]*\)/.*|\1|p' "$file" | sort -u); do
                case " $module generated $allowed " in
                *" $other "*) ;;
                *)
                    echo "lib/tccp/$module/$(basename "$file"): includes tccp/$other/ but $module may use only: ${allowed:-nothing of tccp}"
                    broken=1
                    ;;
                esac
            done
        done
    done
    return "$broken"
}

@test "layering: every module includes only the modules its rule allows" {
    run check_layering "$TCCP_SOURCE_DIR"
    assert_success
    assert_output ""
}

@test "layering: a forbidden include is caught" {
    root="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$root/lib/tccp"
    cp "$TCCP_SOURCE_DIR/ARCHITECTURE.md" "$root/"
    cp -r "$TCCP_SOURCE_DIR/lib/tccp/util" "$TCCP_SOURCE_DIR/lib/tccp/config" "$root/lib/tccp/"
    printf '#include "tccp/cli/app.hpp"\n' >"$root/lib/tccp/util/bad.cpp"
    printf '  #include "tccp/ssh/session.hpp"\n' >"$root/lib/tccp/config/bad.hpp"
    run check_layering "$root"
    assert_failure
    assert_line "lib/tccp/util/bad.cpp: includes tccp/cli/ but util may use only: nothing of tccp"
    assert_line "lib/tccp/config/bad.hpp: includes tccp/ssh/ but config may use only: proto core util"
}

@test "layering: a module missing from the rule is caught" {
    root="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$root/lib/tccp/gizmo"
    cp "$TCCP_SOURCE_DIR/ARCHITECTURE.md" "$root/"
    run check_layering "$root"
    assert_failure
    assert_output "lib/tccp/gizmo/: module missing from the rule in ARCHITECTURE.md"
}
