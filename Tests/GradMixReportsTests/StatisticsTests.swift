import Foundation
import GradMixReports
import Testing

@Suite("Statistics")
struct StatisticsTests {
  /// Two-sided 95% critical values t_{0.975, df} from a standard table
  /// (NIST/SEMATECH e-Handbook, Table 1.3.6.7.2).
  @Test(
    "t quantiles match the table",
    arguments: [(1.0, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045), (100, 1.984)])
  func tTable(_ c: (Double, Double)) {
    #expect(abs(Statistics.tQuantile(0.975, degreesOfFreedom: c.0) - c.1) < 1e-3)
  }

  @Test("the t CDF is symmetric and tends to the normal")
  func tCDF() {
    #expect(abs(Statistics.tCDF(0, degreesOfFreedom: 3) - 0.5) < 1e-12)
    #expect(abs(Statistics.tCDF(-1.5, degreesOfFreedom: 5) + Statistics.tCDF(1.5, degreesOfFreedom: 5) - 1) < 1e-12)
    #expect(abs(Statistics.tCDF(1.959964, degreesOfFreedom: 1e6) - 0.975) < 1e-5)
  }

  @Test("mean, sample sd and the 95% interval of a small sample, computed by hand")
  func estimate() throws {
    // x = 1, 2, 3, 4: mean 2.5, s² = 5/3, half-width = t(0.975, 3) · s / 2 = 3.182446 · 1.290994 / 2.
    let e = Statistics.estimate([1, 2, 3, 4])
    #expect(e.count == 4 && e.mean == 2.5)
    #expect(abs(try #require(e.standardDeviation) - (5.0 / 3).squareRoot()) < 1e-12)
    #expect(abs(try #require(e.halfWidth) - 3.182446 * 1.290994 / 2) < 1e-5)
    let one = Statistics.estimate([0.7])
    #expect(one.mean == 0.7 && one.halfWidth == nil)
  }

  @Test("paired differences match by key and ignore unpaired keys")
  func paired() {
    let d = Statistics.pairedDifferences(["1": 0.9, "2": 0.8, "3": 0.7], ["1": 0.85, "3": 0.6, "4": 0.1])
    #expect(d.count == 2)
    #expect(abs(d[0] - 0.05) < 1e-12 && abs(d[1] - 0.1) < 1e-12)
  }
}
