// JSON codec of the OCI runtime spec; see runtime_spec.h.
#include "oci/runtime_spec.h"
