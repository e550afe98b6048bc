// Layer API of the elementwise family: activation, unary, elementwise, scale, identity, cast.
#include "network/network_impl.h"

namespace kiln {

IdentityLayer* NetworkDefinition::addIdentity(Tensor& input) {
  return impl_->addLayer<IdentityLayer>(LayerType::kIDENTITY, "Identity", {input.irValue()}, 1);
}

}  // namespace kiln
