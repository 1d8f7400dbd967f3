# HTTP: each capture of http/data/ through the CLI against tshark's fields
# (http/expected/<capture>.tsv, made by http/make_expected.py; the tshark
# commands are at the top of each file). data/ports.pcap (made by
# http/make_ports.py) holds one flow on port 80, 8080 and 18080;
# data/long_header.pcap (http/make_long.py) a 20000-byte header line.
set(WKP_HTTP_DIR ${WKP_PROTO_DIR}/http)
set(WKP_HTTP_CHECK ${Python3_EXECUTABLE} ${WKP_HTTP_DIR}/check.py ${WKP_PROTO_CLI})
file(GLOB WKP_HTTP_CAPTURES CONFIGURE_DEPENDS ${WKP_HTTP_DIR}/data/*.pcap ${WKP_HTTP_DIR}/data/*.pcapng)
list(SORT WKP_HTTP_CAPTURES)
set(WKP_HTTP_TESTS "")

foreach(cap ${WKP_HTTP_CAPTURES})
  get_filename_component(name ${cap} NAME)
  string(REGEX REPLACE "\\.pcap(ng)?$" "" short ${name})
  set(exp ${WKP_HTTP_DIR}/expected/${name}.tsv)
  # full (the default): ports 80/8080/8000 and any port by the start line
  add_test(NAME proto.http.full.${short} COMMAND ${WKP_HTTP_CHECK} ${cap} ${exp})
  # port_only: the same on the three ports; the flow on 18080 is not parsed
  add_test(NAME proto.http.port_only.${short}
    COMMAND ${WKP_HTTP_CHECK} ${cap} ${exp} --no-http-port 18080 -- --app-layer port_only)
  list(APPEND WKP_HTTP_TESTS proto.http.full.${short} proto.http.port_only.${short})
endforeach()

set(ports ${WKP_HTTP_DIR}/data/ports.pcap ${WKP_HTTP_DIR}/expected/ports.pcap.tsv)
set(multi ${WKP_HTTP_DIR}/data/multi_port80.pcap ${WKP_HTTP_DIR}/expected/multi_port80.pcap.tsv)
# --filter http keeps exactly the flows tshark finds HTTP in (8 of the 21 port-80 flows)
add_test(NAME proto.http.filter_http COMMAND ${WKP_HTTP_CHECK} ${multi} --only-http -- --filter http)
add_test(NAME proto.http.filter_http_and_port
  COMMAND ${WKP_HTTP_CHECK} ${ports} --only-http --port 8080 -- --filter "http and port 8080")
# full mode finds HTTP on a port that is not HTTP's
add_test(NAME proto.http.filter_http_other_port
  COMMAND ${WKP_HTTP_CHECK} ${ports} --only-http --port 18080 -- --filter "http and port 18080")
add_test(NAME proto.http.app_layer_none
  COMMAND ${WKP_HTTP_CHECK} ${ports} --none -- --app-layer none)
# a 20000-byte header line across 15 segments: counted once, skipped, the
# Host after it and the pipelined second exchange still read
add_test(NAME proto.http.long_header_counted
  COMMAND ${WKP_HTTP_CHECK} ${WKP_HTTP_DIR}/data/long_header.pcap
    ${WKP_HTTP_DIR}/expected/long_header.pcap.tsv --counter long_lines=1 --counter malformed=0)
list(APPEND WKP_HTTP_TESTS proto.http.filter_http proto.http.filter_http_and_port
  proto.http.filter_http_other_port proto.http.app_layer_none proto.http.long_header_counted)
set_tests_properties(${WKP_HTTP_TESTS} PROPERTIES LABELS "proto;san" TIMEOUT 60)
