# QUIC: the quic column through the CLI against tshark 4.0 (expected files
# made by quic/make_expected.py, the command in each <capture>.tshark),
# JA4 against the JA4 reference implementation's value, and the values
# measured on the original (check.py numbers). Captures are read from
# tests/proto/quic/data/ when there, else from tests/data/.
set(WKP_QUIC_DIR ${WKP_PROTO_DIR}/quic)
file(GLOB WKP_QUIC_EXPECTED CONFIGURE_DEPENDS ${WKP_QUIC_DIR}/*.expected.json)
foreach(exp ${WKP_QUIC_EXPECTED})
  get_filename_component(cap ${exp} NAME)
  string(REPLACE ".expected.json" "" cap ${cap})
  if(EXISTS ${WKP_QUIC_DIR}/data/${cap})
    set(path ${WKP_QUIC_DIR}/data/${cap})
  else()
    set(path ${WKP_TEST_DATA}/${cap})
  endif()
  string(REGEX REPLACE "\\.pcap(ng)?$" "" short ${cap})
  add_test(NAME proto.quic.tshark.${short}
           COMMAND ${Python3_EXECUTABLE} ${WKP_QUIC_DIR}/check.py ${WKP_PROTO_CLI} tshark ${path} ${exp})
  set_tests_properties(proto.quic.tshark.${short} PROPERTIES LABELS "proto;san" TIMEOUT 60)
endforeach()
# The value the JA4 reference implementation expects for this capture
# (its rust/ja4/src/snapshots).
add_test(NAME proto.quic.ja4
         COMMAND ${Python3_EXECUTABLE} ${WKP_QUIC_DIR}/check.py ${WKP_PROTO_CLI} ja4
                 ${WKP_QUIC_DIR}/data/ja4__quic-tls-handshake.pcapng
                 q13d0310h3_55b375c5d22e_cd85d2d88918)
set_tests_properties(proto.quic.ja4 PROPERTIES LABELS "proto;san" TIMEOUT 60)
add_test(NAME proto.quic.numbers
         COMMAND ${Python3_EXECUTABLE} ${WKP_QUIC_DIR}/check.py ${WKP_PROTO_CLI} numbers
                 ${WKP_TEST_DATA})
set_tests_properties(proto.quic.numbers PROPERTIES LABELS "proto" TIMEOUT 120)
