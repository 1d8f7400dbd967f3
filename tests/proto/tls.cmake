# TLS: the tls column through the CLI against tshark 4.0 (expected files
# made by tls/make_expected.py, the command in each file's first line),
# JA4 against the JA4 reference implementation's values (tls/expected/
# ja4.tsv), and the values measured on the original (check.py numbers).
set(WKP_TLS_CHECK ${CMAKE_CURRENT_LIST_DIR}/tls/check.py)
set(WKP_TLS_DATA ${CMAKE_CURRENT_LIST_DIR}/tls/data)
file(GLOB WKP_TLS_EXPECTED ${CMAKE_CURRENT_LIST_DIR}/tls/expected/*.pcap.tsv
     ${CMAKE_CURRENT_LIST_DIR}/tls/expected/*.pcapng.tsv)
foreach(exp ${WKP_TLS_EXPECTED})
  get_filename_component(cap ${exp} NAME)
  string(REGEX REPLACE "\\.tsv$" "" cap ${cap})
  if(EXISTS ${WKP_TLS_DATA}/${cap})
    set(path ${WKP_TLS_DATA}/${cap})
  else()
    set(path ${WKP_TEST_DATA}/${cap})
  endif()
  string(REGEX REPLACE "\\.pcap(ng)?$" "" short ${cap})
  add_test(NAME proto.tls.tshark.${short}
           COMMAND Python3::Interpreter ${WKP_TLS_CHECK} --cli ${WKP_PROTO_CLI} tshark ${path} ${exp})
  set_tests_properties(proto.tls.tshark.${short} PROPERTIES LABELS "proto;san" TIMEOUT 120)
endforeach()
add_test(NAME proto.tls.ja4
         COMMAND Python3::Interpreter ${WKP_TLS_CHECK} --cli ${WKP_PROTO_CLI} ja4
                 ${CMAKE_CURRENT_LIST_DIR}/tls/expected/ja4.tsv ${WKP_TLS_DATA})
set_tests_properties(proto.tls.ja4 PROPERTIES LABELS "proto;san" TIMEOUT 120)
add_test(NAME proto.tls.numbers
         COMMAND Python3::Interpreter ${WKP_TLS_CHECK} --cli ${WKP_PROTO_CLI} numbers
                 ${WKP_TEST_DATA} ${WKP_TLS_DATA})
set_tests_properties(proto.tls.numbers PROPERTIES LABELS "proto" TIMEOUT 300)
