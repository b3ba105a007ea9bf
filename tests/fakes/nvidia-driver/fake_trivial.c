/* The body of every other fake driver library: only its file name and soname matter. */
int fake_nvidia_library_marker(void) { return FAKE_MARKER; }
