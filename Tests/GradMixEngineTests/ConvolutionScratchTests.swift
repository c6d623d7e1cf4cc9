import Testing

@testable import GradMixEngine

/// A workspace is sized for its largest batch and runs smaller ones too.
@Suite("Convolution scratch")
struct ConvolutionScratchTests {
  /// conv64k3p1 on 16x28x28: two images per chunk at batch 8, one at batch 1, where dX takes the
  /// transposed path with OC*KK = 576 column rows instead of CKK = 144, so batch 1 uses more scratch.
  @Test("the scratch for a batch covers every smaller batch")
  func coversSmallerBatches() throws {
    let shape = Shape([16, 28, 28])
    let conv = try Conv2D(input: shape, outChannels: 64, kernelSize: 3, padding: 1, workers: 2)
    let g = conv.geometry
    #expect(conv.imagesPerChunk(g, batch: 8) == 2 && conv.transposedInputGradient(g, batch: 1))
    let one = 2 * conv.workerScratch(g, batch: 1) + 64 * g.patch
    #expect(one > 2 * conv.workerScratch(g, batch: 8))  // the case the sizing has to cover
    for n in 1...8 { #expect(conv.scratchCount(input: shape, batch: 8) >= conv.scratchCount(input: shape, batch: n)) }
    #expect(conv.scratchCount(input: shape, batch: 8) >= one)
  }
}
