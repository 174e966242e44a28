# The NSS figure of bench/README.md: time of one getpwnam_r / getpwuid_r hit against the
# number of accounts, log-log, one colour per backend (nss.sh passes datafile, outfile,
# backends; columns: accounts, then per backend pwnam_hit and pwuid_hit in ns).
set terminal pngcairo size 1000,520 font ",11"
set output outfile
set title "passwd lookup (hit) against number of accounts"
set logscale xy
set xlabel "accounts"
set ylabel "time per call (ns)"
set format y "10^{%L}"
set format x "10^{%L}"
set grid xtics ytics mxtics mytics
set key outside right top
set xrange [5:200000]
plot for [i=1:words(backends)] datafile using 1:(column(2*i)) with linespoints lw 2 pt 7 \
         lc i title word(backends, i)." getpwnam\\_r", \
     for [i=1:words(backends)] datafile using 1:(column(2*i+1)) with linespoints lw 1 dt 2 \
         pt 6 lc i title word(backends, i)." getpwuid\\_r"
