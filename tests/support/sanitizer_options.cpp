// The sanitizers' default options, linked into every executable of a CORSAIR_SANITIZE build (the
// root CMakeLists.txt): stop at the first report and exit with kSanitizerExitCode (86, a code no
// corsair program uses), so that a report fails its test even when it comes from a child process
// nobody reads: ChildProcess (child_process.cpp) and dashboard_test.py look for that exit code.
// ASAN_OPTIONS, UBSAN_OPTIONS and TSAN_OPTIONS in the environment still override these.

extern "C" {

// A leak found at exit (LeakSanitizer, part of ASan) exits with the same code.
const char* __asan_default_options() { return "halt_on_error=1:exitcode=86:abort_on_error=0"; }

const char* __ubsan_default_options() { return "halt_on_error=1:exitcode=86:print_stacktrace=1"; }

const char* __tsan_default_options() { return "halt_on_error=1:exitcode=86:second_deadlock_stack=1"; }
}
