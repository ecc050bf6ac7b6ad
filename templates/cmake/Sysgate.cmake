# Sysgate.cmake: CodeSafe 5 / enclave syscall policy for CMake builds (written by `sysgate init cmake`).
#
#   list(APPEND CMAKE_MODULE_PATH "${CMAKE_SOURCE_DIR}/cmake")
#   include(Sysgate)
#   add_executable(app main.c)
#   sysgate_protect(app TARGET codesafe5 FIRMWARE 13.7)
#
# sysgate_protect(<executable> TARGET <id|file.json> [FIRMWARE <version>] [ARCH <arch>]
#                 [SYSROOT <dir>] [NO_SHIM] [NO_CHECK] [STRICT])
#   - generates, at build time, the seccomp filter header (#include "sysgate.h"; its
#     sysgate_<target>_install() exists only with -DSYSGATE_HOST_FILTER, for host tests: on the
#     device the firmware enforces the policy and denies the installer's own calls) and the
#     libc shim for the target;
#   - compiles the shim into the executable and adds its link flags;
#   - after linking, runs `sysgate check` on the executable: a call that kills the app or breaks
#     code known to fail on it fails the build (and removes the binary); with STRICT also one
#     whose error reaches the program when nothing known says it copes (check --strict).
# ARCH defaults to CMAKE_SYSTEM_PROCESSOR (arm*, aarch64, powerpc, x86_64).
# SYSGATE_COMMAND (cache variable) is how to run sysgate; default: the sysgate found on PATH or
# in node_modules/.bin.
# Including this module leaves the includer's policy settings as they were: the module's own
# settings live between cmake_policy(PUSH) and (POP), and its functions keep them (CMake
# records policies when a function is defined).
if(CMAKE_VERSION VERSION_LESS 3.19)
  message(FATAL_ERROR "Sysgate.cmake needs CMake 3.19 or later (string(JSON)); this is ${CMAKE_VERSION}")
endif()
cmake_policy(PUSH)
cmake_policy(VERSION 3.19)

if(NOT SYSGATE_COMMAND)
  find_program(SYSGATE_EXECUTABLE NAMES sysgate
    HINTS "${CMAKE_SOURCE_DIR}/node_modules/.bin" "${CMAKE_CURRENT_LIST_DIR}/../node_modules/.bin")
  if(NOT SYSGATE_EXECUTABLE)
    message(FATAL_ERROR "sysgate not found: npm install sysgate, or set SYSGATE_COMMAND")
  endif()
  set(SYSGATE_COMMAND "${SYSGATE_EXECUTABLE}" CACHE STRING "How to run sysgate")
endif()

function(_sysgate_arch out)
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" p)
  if(p MATCHES "^(arm|armv[0-9].*)$")
    set(a arm)
  elseif(p MATCHES "^(aarch64|arm64)$")
    set(a aarch64)
  elseif(p MATCHES "^(powerpc|ppc)$")
    set(a ppc)
  elseif(p MATCHES "^(powerpc64|ppc64)$")
    set(a ppc64)
  elseif(p MATCHES "^(x86_64|amd64)$")
    set(a x86_64)
  elseif(p MATCHES "^(i[3-6]86|x86)$")
    set(a i386)
  else()
    message(FATAL_ERROR "sysgate: cannot tell the arch from CMAKE_SYSTEM_PROCESSOR '${CMAKE_SYSTEM_PROCESSOR}': pass ARCH")
  endif()
  set(${out} ${a} PARENT_SCOPE)
endfunction()

function(sysgate_protect exe)
  cmake_parse_arguments(PARSE_ARGV 1 SG "NO_SHIM;NO_CHECK;STRICT" "TARGET;FIRMWARE;ARCH;SYSROOT" "")
  if(NOT SG_TARGET)
    message(FATAL_ERROR "sysgate_protect(${exe}): TARGET is required")
  endif()
  if(NOT SG_ARCH)
    _sysgate_arch(SG_ARCH)
  endif()
  set(policy --target "${SG_TARGET}" --arch "${SG_ARCH}")
  if(SG_FIRMWARE)
    list(APPEND policy --firmware "${SG_FIRMWARE}")
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/sysgate/${exe}")
  set(formats c)
  set(outputs "${dir}/sysgate.h")
  if(NOT SG_NO_SHIM)
    set(formats c,shim)
    list(APPEND outputs "${dir}/sysgate.shim.c")
  endif()
  set(depends)
  if(EXISTS "${SG_TARGET}")
    set(depends "${SG_TARGET}")
  endif()
  add_custom_command(OUTPUT ${outputs}
    COMMAND ${SYSGATE_COMMAND} generate ${policy} --format ${formats} --name sysgate --out "${dir}" --quiet
    DEPENDS ${depends}
    COMMENT "sysgate: seccomp filter and shim for ${exe} (${SG_TARGET} ${SG_FIRMWARE} ${SG_ARCH})"
    VERBATIM)
  target_sources(${exe} PRIVATE ${outputs})
  target_include_directories(${exe} PRIVATE "${dir}")
  if(NOT SG_NO_SHIM)
    # --cc: before GNU ld 2.35 the link flags name a dynamic list (written to dir) instead.
    execute_process(COMMAND ${SYSGATE_COMMAND} shim ${policy} --flags --json --cc "${CMAKE_C_COMPILER}" --out "${dir}"
      OUTPUT_VARIABLE flags_json RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "sysgate shim --flags failed: ${err}")
    endif()
    foreach(kind cflags ldflags)
      string(JSON n LENGTH "${flags_json}" ${kind})
      set(${kind})
      if(n GREATER 0)
        math(EXPR last "${n} - 1")
        foreach(i RANGE ${last})
          string(JSON f GET "${flags_json}" ${kind} ${i})
          list(APPEND ${kind} "${f}")
        endforeach()
      endif()
    endforeach()
    set_source_files_properties("${dir}/sysgate.shim.c" PROPERTIES COMPILE_OPTIONS "${cflags}")
    target_link_options(${exe} PRIVATE ${ldflags})
  endif()
  if(NOT SG_NO_CHECK)
    set(check check "$<TARGET_FILE:${exe}>" --target "${SG_TARGET}" --delete-on-fatal --quiet)
    if(SG_FIRMWARE)
      list(APPEND check --firmware "${SG_FIRMWARE}")
    endif()
    if(SG_SYSROOT)
      list(APPEND check --sysroot "${SG_SYSROOT}")
    endif()
    if(SG_STRICT)
      list(APPEND check --strict)
    endif()
    add_custom_command(TARGET ${exe} POST_BUILD
      COMMAND ${SYSGATE_COMMAND} ${check}
      COMMENT "sysgate: checking ${exe} against ${SG_TARGET} ${SG_FIRMWARE}"
      VERBATIM)
  endif()
endfunction()

cmake_policy(POP)
