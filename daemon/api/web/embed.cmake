# Turns the pop page into a C++ string at build time (see daemon/CMakeLists.txt).
file(READ "${INPUT}" content)
file(WRITE "${OUTPUT}" "// Generated from daemon/web/index.html: do not edit.\nnamespace deskline::daemon {\nextern const char* const pop_page_html;\nconst char* const pop_page_html = R\"deskline_page(${content})deskline_page\";\n}  // namespace deskline::daemon\n")
