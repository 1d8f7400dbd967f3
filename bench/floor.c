/* wkp-floor: the bare libpcap read loop, the floor the engine is compared to.
 *
 * pcap_open_offline + pcap_next_ex, touching each packet's caplen and first
 * byte so the loop cannot be optimised into nothing and the data is faulted
 * in, as any consumer would. No decoding, no threads: anything the engine
 * spends above this is its own cost.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: wkp-floor FILE\n", stderr);
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    double t0 = mono_now();
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "wkp-floor: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t pkts = 0, bytes = 0, check = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        pkts++;
        bytes += h->caplen;
        check += h->caplen ? data[0] : 0;
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "wkp-floor: %s: %s\n", argv[1], pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    double secs = mono_now() - t0;
    /* check is printed so the data reads stay observable */
    printf("packets %llu bytes %llu seconds %.3f pps %.0f MBps %.1f check %llu\n",
           (unsigned long long)pkts, (unsigned long long)bytes, secs,
           secs > 0 ? (double)pkts / secs : 0.0, secs > 0 ? (double)bytes / secs / 1e6 : 0.0,
           (unsigned long long)(check & 0xff));
    return 0;
}
