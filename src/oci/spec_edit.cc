#include "oci/spec_edit.h"

namespace hull::oci {

void mergeSpecEdit(SpecEdit& into, const SpecEdit& from) {}
void applySpecEdit(RuntimeSpec& spec, const SpecEdit& edit) {}

}  // namespace hull::oci
