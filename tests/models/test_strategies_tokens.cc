// Hand-computed KV sizes of strategies (filled in with the strategies).
#include <gtest/gtest.h>
