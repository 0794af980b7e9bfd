# Vivado non-project flow for one accelerator top: synthesis, placement and routing out of context
# (the accelerator is a block inside a Zynq or PCIe design, so its ports are nets, not pins), then
# utilisation and timing reports.
#
#   vivado -mode batch -source scripts/vivado-build.tcl -tclargs BOARD_OR_PART TOP [RTL_DIR] [OUT_DIR]
#
# BOARD_OR_PART is a board (pynq-z2, zcu102, vc709: its part and constraints/<board>.xdc) or a bare
# part name (then the clock constraint alone is generated). RTL_DIR
# (default rtl) holds the elaborated *.v and config.json; the clock period comes from its
# clockMHz. OUT_DIR defaults to build/vivado-<part>. Reports written there:
#   clock.xdc             the constraint actually used (board file with the configuration's period)
#   post_synth_util.rpt   utilisation after synthesis
#   utilization.rpt       utilisation after routing (report_utilization)
#   timing_summary.rpt    report_timing_summary after routing
#   summary.txt           part, top, period, WNS, Fmax, LUT/FF/DSP/BRAM as key=value lines
#
# Vivado is not installed where this project is developed and tested: `make vivado-check` parses
# and runs this script under plain tclsh with the Vivado commands stubbed (scripts/vivado-check.tcl).

set boards {
    pynq-z2 xc7z020clg400-1
    zcu102  xczu9eg-ffvb1156-2-e
    vc709   xc7vx690tffg1761-2
}

proc usage {} {
    puts stderr "usage: vivado -mode batch -source scripts/vivado-build.tcl -tclargs BOARD_OR_PART TOP \[RTL_DIR\] \[OUT_DIR\]"
    puts stderr "       boards: pynq-z2 (xc7z020clg400-1), zcu102 (xczu9eg-ffvb1156-2-e), vc709 (xc7vx690tffg1761-2)"
    exit 2
}

# config.json is JSONEncoder's pretty output; plain tclsh has no JSON parser, one key is enough.
proc config_clock_mhz {path} {
    set f [open $path r]
    set text [read $f]
    close $f
    if {![regexp {"clockMHz"\s*:\s*([0-9.eE+-]+)} $text -> mhz] || $mhz <= 0} {
        error "vivado-build: $path has no positive clockMHz"
    }
    return $mhz
}

# The board's XDC with its create_clock period replaced by the configuration's.
proc clock_constraints {template period} {
    if {$template eq ""} {
        return "create_clock -period $period -name clk \[get_ports clk\]\n"
    }
    set f [open $template r]
    set text [read $f]
    close $f
    set n [regsub -all -- {(create_clock\s+-period\s+)[0-9.]+} $text "\\1$period" text]
    if {$n != 1} { error "vivado-build: $template must hold exactly one create_clock -period, found $n" }
    return $text
}

if {[llength $argv] < 2 || [llength $argv] > 4} { usage }
lassign $argv target top rtl out
if {$rtl eq ""} { set rtl rtl }

set root [file normalize [file join [file dirname [info script]] ..]]
if {[dict exists $boards $target]} {
    set part [dict get $boards $target]
    set xdc_template [file join $root constraints $target.xdc]
} else {
    set part $target
    set xdc_template ""
}
if {$out eq ""} { set out [file join build vivado-$part] }
file mkdir $out

set sources [lsort [glob -nocomplain -directory $rtl *.v]]
if {[llength $sources] == 0} { error "vivado-build: no Verilog in $rtl (run elaborate first)" }
set mhz [config_clock_mhz [file join $rtl config.json]]
set period [format %.3f [expr {1000.0 / $mhz}]]

set xdc [file join $out clock.xdc]
set f [open $xdc w]
puts -nonewline $f [clock_constraints $xdc_template $period]
close $f

puts "vivado-build: $top on $part at $mhz MHz (period $period ns), [llength $sources] files from $rtl -> $out"

read_verilog $sources
read_xdc $xdc
synth_design -top $top -part $part -mode out_of_context -flatten_hierarchy rebuilt
report_utilization -file [file join $out post_synth_util.rpt]
write_checkpoint -force [file join $out post_synth.dcp]

opt_design
place_design
phys_opt_design
route_design
write_checkpoint -force [file join $out routed.dcp]

report_utilization -file [file join $out utilization.rpt]
report_utilization -hierarchical -file [file join $out utilization_hier.rpt]
report_timing_summary -max_paths 10 -file [file join $out timing_summary.rpt]

# Fmax from the worst setup slack: the clock could shrink by WNS.
set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
# No constrained path (or "inf"): report the constraint itself rather than a made-up figure.
if {![string is double -strict $wns] || [string match -nocase *inf* $wns]} { set wns 0.0 }
set fmax [format %.1f [expr {1000.0 / ($period - $wns)}]]
proc cells {filter} { return [llength [get_cells -hierarchical -quiet -filter $filter]] }
set ramb36 [cells {REF_NAME =~ RAMB36*}]
set ramb18 [cells {REF_NAME =~ RAMB18*}]
set f [open [file join $out summary.txt] w]
puts $f "part=$part"
puts $f "top=$top"
puts $f "clock_mhz=$mhz"
puts $f "period_ns=$period"
puts $f "wns_ns=$wns"
puts $f "fmax_mhz=$fmax"
puts $f "lut=[cells {REF_NAME =~ LUT*}]"
puts $f "ff=[cells {REF_NAME =~ FD*}]"
puts $f "dsp=[cells {REF_NAME =~ DSP48*}]"
puts $f "ramb36=$ramb36"
puts $f "ramb18=$ramb18"
puts $f "bram36=[expr {$ramb36 + $ramb18 / 2.0}]"
close $f
puts "vivado-build: WNS $wns ns, Fmax $fmax MHz; reports in $out"
