/*  fw_ports.h — the fixed, documented default addresses (README "Ports").

    HTTP ports users already know keep their Prometheus/Alertmanager numbers (tsdb 9090,
    alertd 9093) so Grafana, promtool and amtool work with their defaults. ZeroMQ endpoints
    are given from the binding side's point of view; connecting daemons use the same
    address. Every one is overridable by a flag.
*/
#ifndef FW_PORTS_H
#define FW_PORTS_H

#define FW_HTTP_TSDB "127.0.0.1:9090"
#define FW_HTTP_ALERTD "127.0.0.1:9093"
#define FW_HTTP_SCRAPER "127.0.0.1:9201"
#define FW_HTTP_RULED "127.0.0.1:9202"
#define FW_HTTP_SLOD "127.0.0.1:9203"
#define FW_HTTP_NOTIFYD "127.0.0.1:9204"
#define FW_HTTP_FACTORYSIM "127.0.0.1:9210"
#define FW_HTTP_FWSINK "127.0.0.1:9211"

#define FW_ZMQ_TSDB_SAMPLES "tcp://127.0.0.1:5560"   // tsdb PULL  <- scraper, ruled, slod PUSH
#define FW_ZMQ_TSDB_QUERY "tcp://127.0.0.1:5561"     // tsdb ROUTER <- ruled, slod DEALER
#define FW_ZMQ_TSDB_PUB "tcp://127.0.0.1:5562"       // tsdb PUB (stored batches) for taps
#define FW_ZMQ_SCRAPER_PUB "tcp://127.0.0.1:5563"    // scraper PUB (scraped batches)
#define FW_ZMQ_RULED_PUB "tcp://127.0.0.1:5564"      // ruled PUB (recorded samples, alerts)
#define FW_ZMQ_SLOD_PUB "tcp://127.0.0.1:5565"       // slod PUB (SLO series, alerts)
#define FW_ZMQ_ALERTD_ALERTS "tcp://127.0.0.1:5566"  // alertd PULL <- ruled, slod PUSH
#define FW_ZMQ_ALERTD_PUB "tcp://127.0.0.1:5567"     // alertd PUB (notifications sent)
#define FW_ZMQ_NOTIFYD_NOTIFY "tcp://127.0.0.1:5568" // notifyd PULL <- alertd PUSH
#define FW_ZMQ_NOTIFYD_PUB "tcp://127.0.0.1:5569"    // notifyd PUB (delivery outcomes)

#endif
