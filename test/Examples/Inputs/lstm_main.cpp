// Calls the LSTM cell's gradient through the C ABI (an object file from
// `gradc emit` and its header): the loss and the sum of dW, then a label out
// of range (return code 3, GRADC_BAD_INDEX).
#include "lstm.h"

#include <cstdio>
#include <vector>

int main() {
  const int64_t N = 2;
  std::vector<float> x(N * 4), h(N * 8), c(N * 8), W(12 * 32), b(32), Wy(8 * 5),
      by(5);
  auto fill = [](std::vector<float> &v, float s) {
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = s * float(int(i % 7) - 3);
  };
  fill(x, 0.1f), fill(h, 0.05f), fill(c, 0.2f), fill(W, 0.03f), fill(b, 0.01f);
  fill(Wy, 0.07f), fill(by, 0.02f);
  int64_t y[2] = {3, -1};
  float dloss = 1;
  float loss;
  std::vector<float> dx(N * 4), dh(N * 8), dc(N * 8), dW(12 * 32), db(32),
      dWy(8 * 5), dby(5);
  int rc = gradc_lstm_grad(x.data(), h.data(), c.data(), W.data(), b.data(),
                           Wy.data(), by.data(), y, &dloss, N, &loss, dx.data(),
                           dh.data(), dc.data(), dW.data(), db.data(),
                           dWy.data(), dby.data());
  double s = 0;
  for (float v : dW)
    s += v;
  std::printf("rc %d loss %.5f sum dW %.5f\n", rc, loss, s);
  y[1] = 5; // five classes: 5 is out of range
  rc = gradc_lstm_grad(x.data(), h.data(), c.data(), W.data(), b.data(),
                       Wy.data(), by.data(), y, &dloss, N, &loss, dx.data(),
                       dh.data(), dc.data(), dW.data(), db.data(), dWy.data(),
                       dby.data());
  std::printf("rc %d\n", rc);
  return 0;
}
