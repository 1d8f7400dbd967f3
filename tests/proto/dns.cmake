# DNS: the dns column of every flow against tshark 4.0's DNS, MDNS and
# LLMNR fields (tests/proto/dns/<capture>.expected.json, made by
# make_expected.py with the command in <capture>.tshark), and the flow
# keyword through the CLI. The captures are in tests/proto/dns/data/.
file(GLOB WKP_DNS_EXPECTED CONFIGURE_DEPENDS ${WKP_PROTO_DIR}/dns/*.expected.json)
foreach(exp ${WKP_DNS_EXPECTED})
  get_filename_component(base ${exp} NAME)
  string(REPLACE ".expected.json" "" base ${base})
  add_test(NAME proto.dns.${base}
           COMMAND ${Python3_EXECUTABLE} ${WKP_PROTO_DIR}/dns/check.py ${WKP_PROTO_CLI}
                   ${WKP_PROTO_DIR}/dns/data/${base}.pcap ${exp})
  set_tests_properties(proto.dns.${base} PROPERTIES LABELS "proto;san" TIMEOUT 60)
endforeach()
foreach(base wkp_dns_mix wa1kpcap__multi_dns)
  add_test(NAME proto.dns.filters.${base}
           COMMAND ${Python3_EXECUTABLE} ${WKP_PROTO_DIR}/dns/check.py ${WKP_PROTO_CLI}
                   ${WKP_PROTO_DIR}/dns/data/${base}.pcap --filters)
  set_tests_properties(proto.dns.filters.${base} PROPERTIES LABELS "proto;san" TIMEOUT 60)
endforeach()
