// Which pairs the report's nHSIC-RDC scatter shows (src/report/report.cpp; tested on its own in
// tests/unit/report/scatter_test.cpp).
#pragma once

#include <cstddef>
#include <vector>

namespace descpipe {

struct ScatterPair {
  std::size_t i = 0, j = 0;  ///< i < j, indices into the p x p matrices
  double s = 0.0;            ///< (w_hsic nHSIC + w_rdc RDC) / (w_hsic + w_rdc)
};

struct ScatterSelection {
  std::vector<ScatterPair> pairs;  ///< the pairs shown, by (i, j)
  std::size_t above = 0;           ///< pairs i < j with max(nHSIC, RDC) >= floor
  std::size_t undefined = 0;       ///< pairs with a NaN or infinite measure, not screened
  std::size_t screened = 0;        ///< pairs whose nHSIC is NaN by screening (RDC finite)
};

/// The pairs i < j of the p x p row-major matrices with max(nHSIC, RDC) >= floor (both finite):
/// all of them, or the `max_pairs` of largest S when there are more (ties: the smaller (i, j)
/// first). Memory: max_pairs pairs, whatever p.
ScatterSelection SelectScatterPairs(const double* hsic, const double* rdc, std::size_t p,
                                    double w_hsic, double w_rdc, double floor,
                                    std::size_t max_pairs);

}  // namespace descpipe
