# DHCP and DHCPv6: the dhcp and dhcpv6 columns of every flow against tshark
# 4.0's DHCP and DHCPv6 fields (tests/proto/dhcp/<capture>.expected.json,
# made by make_expected.py with the command in <capture>.tshark), at 1, 2
# and 4 workers. The captures are in tests/proto/dhcp/data/.
file(GLOB WKP_DHCP_EXPECTED CONFIGURE_DEPENDS ${WKP_PROTO_DIR}/dhcp/*.expected.json)
foreach(exp ${WKP_DHCP_EXPECTED})
  get_filename_component(base ${exp} NAME)
  string(REPLACE ".expected.json" "" base ${base})
  add_test(NAME proto.dhcp.${base}
           COMMAND ${Python3_EXECUTABLE} ${WKP_PROTO_DIR}/dhcp/check.py ${WKP_PROTO_CLI}
                   ${WKP_PROTO_DIR}/dhcp/data/${base}.pcap ${exp})
  set_tests_properties(proto.dhcp.${base} PROPERTIES LABELS "proto;san" TIMEOUT 60)
endforeach()
