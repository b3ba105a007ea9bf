// The runtime module; see runtime.h.
