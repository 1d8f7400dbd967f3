# ICMP and ICMPv6: the icmp column of every ICMP flow against tshark 4.0's
# icmp / icmpv6 fields (tests/proto/icmp/<capture>.icmp.expected.json, made
# by make_expected.py with the command in <capture>.icmp.tshark), at 1, 2
# and 4 workers. The captures are in tests/data (MANIFEST.md).
file(GLOB WKP_ICMP_EXPECTED CONFIGURE_DEPENDS ${WKP_PROTO_DIR}/icmp/*.icmp.expected.json)
foreach(exp ${WKP_ICMP_EXPECTED})
  get_filename_component(base ${exp} NAME)
  string(REPLACE ".icmp.expected.json" "" base ${base})
  add_test(NAME proto.icmp.${base}
           COMMAND ${Python3_EXECUTABLE} ${WKP_PROTO_DIR}/icmp/check.py ${WKP_PROTO_CLI}
                   ${WKP_TEST_DATA}/${base}.pcap ${exp})
  set_tests_properties(proto.icmp.${base} PROPERTIES LABELS "proto;san" TIMEOUT 60)
endforeach()

# ARP: the packet sink's ARP rows against tshark's arp fields
# (<capture>.arp.expected.json, <capture>.arp.tshark), and the rest of the
# output unchanged by them (check_arp.py says what is compared).
file(GLOB WKP_ARP_EXPECTED CONFIGURE_DEPENDS ${WKP_PROTO_DIR}/icmp/*.arp.expected.json)
foreach(exp ${WKP_ARP_EXPECTED})
  get_filename_component(base ${exp} NAME)
  string(REPLACE ".arp.expected.json" "" base ${base})
  add_test(NAME proto.arp.${base}
           COMMAND ${Python3_EXECUTABLE} ${WKP_PROTO_DIR}/icmp/check_arp.py ${WKP_PROTO_CLI}
                   ${WKP_TEST_DATA}/${base}.pcap ${exp})
  set_tests_properties(proto.arp.${base} PROPERTIES LABELS "proto;san" TIMEOUT 60)
endforeach()
