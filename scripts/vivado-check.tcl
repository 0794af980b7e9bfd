# Checks scripts/vivado-build.tcl and constraints/*.xdc without Vivado (not installed here): plain
# tclsh parses and runs them with every Vivado command stubbed, so a syntax error, a typo in a
# command name, a command missing from the flow or a wrong clock period fails the check.
#
#   tclsh scripts/vivado-check.tcl          (exit status 0 and one line per checked item)

set root [file normalize [file join [file dirname [info script]] ..]]
set failures 0
proc fail {message} { global failures; incr failures; puts stderr "vivado-check: FAIL $message" }

# The Vivado commands the flow may use. Each records its call; queries return something plausible.
set calls {}
foreach cmd {read_verilog read_xdc synth_design opt_design place_design phys_opt_design route_design
             report_utilization report_timing_summary write_checkpoint create_clock} {
    proc $cmd {args} [string map [list @CMD@ $cmd] { lappend ::calls [list @CMD@ {*}$args]; return "" }]
}
proc get_ports {args} { return $args }
proc get_timing_paths {args} { return path0 }
proc get_cells {args} { return {c0 c1 c2} }
proc get_property {name object} { if {$name eq "SLACK"} { return 0.412 }; return "" }

proc called {cmd} {
    foreach c $::calls { if {[lindex $c 0] eq $cmd} { return $c } }
    return ""
}

# A fake RTL folder: two modules and a config.json at 200 MHz (period 5.000 ns).
set tmp [file join [expr {[info exists ::env(TMPDIR)] ? $::env(TMPDIR) : "/tmp"}] vivado-check-[pid]]
file delete -force $tmp
file mkdir [file join $tmp rtl]
foreach m {Top Child} {
    set f [open [file join $tmp rtl $m.v] w]; puts $f "module ${m} (input wire clk); endmodule"; close $f
}
set f [open [file join $tmp rtl config.json] w]
puts $f "{\n  \"clockMHz\" : 200,\n  \"pc\" : 4\n}"
close $f

# Every constraints file is Tcl: it must source cleanly and hold one create_clock on port clk.
foreach xdc [lsort [glob -directory [file join $root constraints] *.xdc]] {
    set ::calls {}
    if {[catch {source $xdc} err]} { fail "[file tail $xdc] does not parse: $err"; continue }
    set clocks [lsearch -all -inline -index 0 $::calls create_clock]
    if {[llength $clocks] != 1 || [lindex $clocks 0 end] ne "clk"} {
        fail "[file tail $xdc] must create exactly one clock on port clk, has: $clocks"
    } else {
        puts "vivado-check: [file tail $xdc] parses, one clock on clk"
    }
}

# The build script for each board and for a bare part, as Vivado would run it with -tclargs.
foreach {target part} {pynq-z2 xc7z020clg400-1 zcu102 xczu9eg-ffvb1156-2-e vc709 xc7vx690tffg1761-2
                       xc7a35tcsg324-1 xc7a35tcsg324-1} {
    set ::calls {}
    set out [file join $tmp out-$target]
    set argv [list $target Top [file join $tmp rtl] $out]
    set argc [llength $argv]
    if {[catch {source [file join $root scripts vivado-build.tcl]} err]} {
        fail "vivado-build.tcl for $target: $err"
        continue
    }
    set synth [called synth_design]
    if {[lsearch -exact $synth $part] < 0 || [lsearch -exact $synth Top] < 0 || [lsearch -exact $synth out_of_context] < 0} {
        fail "$target: synth_design must get -top Top -part $part -mode out_of_context, got: $synth"
    }
    foreach cmd {read_verilog read_xdc opt_design place_design route_design report_utilization report_timing_summary} {
        if {[called $cmd] eq ""} { fail "$target: the flow never calls $cmd" }
    }
    if {[llength [lindex [called read_verilog] 1]] != 2} { fail "$target: read_verilog must get both .v files" }
    set f [open [file join $out clock.xdc] r]; set xdc [read $f]; close $f
    if {![regexp {create_clock -period 5.000 -name clk} $xdc]} { fail "$target: clock.xdc does not carry 200 MHz (5.000 ns): $xdc" }
    set f [open [file join $out summary.txt] r]; set summary [read $f]; close $f
    # 200 MHz with +0.412 ns slack: 1000 / (5.000 - 0.412) = 218.0 MHz.
    if {![regexp {fmax_mhz=218\.0} $summary] || ![regexp "part=$part" $summary]} { fail "$target: summary.txt is wrong: $summary" }
    puts "vivado-check: vivado-build.tcl runs for $target ($part) under stubs"
}

file delete -force $tmp
if {$failures > 0} { puts stderr "vivado-check: $failures failure(s)"; exit 1 }
puts "vivado-check: ok (syntax and flow only: Vivado itself is not installed here)"
