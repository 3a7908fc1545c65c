# Mpps vs flows (one worker) and Mpps vs worker cores, from the data report.py wrote.
# gnuplot -e "workdir='DIR'; out='FILE.png'" bench/plot.gp
set terminal pngcairo size 1100,450 font "sans,10"
set output out
set multiplot layout 1,2 title "dplb: established 64 B frames through dplbd's worker loop on a looped net\\_ring port"

set title "Mpps per worker core vs flows in the table"
set logscale x
set xlabel "concurrent flows"
set ylabel "Mpps"
set yrange [0:*]
set key center left
set grid
plot workdir.'/flows.dat' using 1:2 with linespoints lw 2 pt 7 title "dplb", \
     workdir.'/flows.dat' using 1:3 with linespoints lw 2 pt 5 title "MAC-swap ceiling (same loop)", \
     14.88 with lines dt 2 lc rgb "gray" title "10GbE line rate, 64 B"

unset logscale x
set key top left
set title "Mpps (all workers) vs worker cores"
set xlabel "worker lcores"
set xtics 1
set xrange [0.5:2.5]
plot workdir.'/cores.dat' using 1:2 with linespoints lw 2 pt 7 title "dplb, 1M flows", \
     workdir.'/cores.dat' using 1:3 with linespoints lw 2 pt 5 title "MAC-swap ceiling", \
     workdir.'/cores.dat' using 1:4 with linespoints lw 2 pt 9 title "testpmd macswap, net\\_null"
unset multiplot
