// kiln: an open inference optimizer and runtime. Umbrella header of the public C++ API.
#pragma once

#include "kiln/builder.h"
#include "kiln/device.h"
#include "kiln/logger.h"
#include "kiln/network.h"
#include "kiln/runtime.h"
#include "kiln/stream.h"
#include "kiln/types.h"
