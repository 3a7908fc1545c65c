# Mpps vs flows (one worker) and Mpps vs worker cores, from the data report.py wrote.
# gnuplot -e "workdir='DIR'; out='FILE.png'; l3flows=N; l3label='...'" bench/plot.gp
# l3flows: the flow count whose table is as large as the L3 cache (0: not known, no mark).
# Keys sit below each panel, outside the plot area, so they hide no data whatever the figures.
set terminal pngcairo size 1100,520 font "sans,10"
set output out
set multiplot layout 1,2 title "dplb: established 64 B frames through dplbd's worker loop on a looped net\\_ring port"
if (!exists("l3flows")) l3flows = 0
if (!exists("l3label")) l3label = "L3"

set title "Mpps per worker core vs flows in the table"
set logscale x
set format x "10^{%T}"
set xlabel "concurrent flows"
set ylabel "Mpps"
set yrange [0:*]
set key below vertical maxrows 2
set grid
if (l3flows > 0) {
    set arrow 1 from l3flows, graph 0 to l3flows, graph 1 nohead dt 3 lw 2 lc rgb "red"
    set label 1 l3label at l3flows, graph 0.97 right offset -0.5, 0 textcolor rgb "red"
}
plot workdir.'/flows.dat' using 1:2 with linespoints lw 2 pt 7 title "dplb", \
     workdir.'/flows.dat' using 1:3 with linespoints lw 2 pt 5 title "MAC-swap ceiling (same loop)", \
     14.88 with lines dt 2 lc rgb "gray" title "10GbE line rate, 64 B"

unset arrow 1
unset label 1
unset logscale x
set format x "%g"
set title "Mpps (all workers) vs worker cores"
set xlabel "worker lcores"
set xtics 1
set xrange [0.5:2.5]
plot workdir.'/cores.dat' using 1:2 with linespoints lw 2 pt 7 title "dplb, 1M flows", \
     workdir.'/cores.dat' using 1:3 with linespoints lw 2 pt 5 title "MAC-swap ceiling", \
     workdir.'/cores.dat' using 1:4 with linespoints lw 2 pt 9 title "testpmd macswap, net\\_null"
unset multiplot
