// Calls the generated vector-Jacobian products @layer.grad and @scale.grad.
#include "layer.h"

#include <cstdio>

int main() {
  const int64_t N = 2;
  const float X[N * 3] = {1, 2, 3, -1, 0.5f, 0.25f};
  const float W[6] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f}, b[2] = {0.1f, 0};
  const float dH[N * 2] = {1, -1, 0.5f, 2};
  float H[N * 2], dW[6], db[2];
  if (gradc_layer_grad(X, W, b, dH, N, H, dW, db) != 0)
    return 1;
  const float x[4] = {1, 2, 3, 4}, s = 2, dy[4] = {1, 1, 1, 1};
  float yv[4], dx[4], ds;
  if (gradc_scale_grad(x, &s, dy, yv, dx, &ds) != 0)
    return 1;
  std::printf("{\"H\": [%.9g, %.9g, %.9g, %.9g], \"dW\": [", H[0], H[1], H[2],
              H[3]);
  for (int i = 0; i < 6; ++i)
    std::printf("%s%.9g", i ? ", " : "", dW[i]);
  std::printf("], \"db\": [%.9g, %.9g], \"ds\": %.9g}\n", db[0], db[1], ds);
}
