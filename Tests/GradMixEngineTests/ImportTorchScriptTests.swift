import Foundation
import GradMixEngine
import GradMixTestSupport
import Testing

/// `scripts/reference/import_torch.py` turns a state_dict into the file
/// `model.init` reads; loaded into the engine, it gives the logits of the
/// network it came from (evaluation mode) within 1e-4: the NumPy path
/// (random tensors saved by NumPy as `.npz`, logits from the NumPy reference
/// forward pass of spec_model.py) always runs; the PyTorch path (a module
/// built by spec_model.build_torch with random weights, saved with
/// `torch.save(state_dict)`) where torch is installed.
@Suite(
  "import_torch.py into model.init",
  .enabled(if: ReferencePython.hasNumPy, "needs a python with numpy (scripts/setup-python.sh)"))
struct ImportTorchScriptTests {
  static let specs: [(String, [Int])] = [
    ("conv4k3p1-bn-relu-res6s2-res6-avgpool2-bn-gap-fc5-bn-relu-fc3", [2, 8, 8]),
    ("conv6k5-relu-pool2-dropout0.5-conv8k3s2p1-relu-fc8-relu-fc4", [3, 12, 12]),
  ]

  /// Python that writes `weights` (a state_dict: .npz or .pt), `x.f32` and
  /// `ref.f32` (the reference logits) into the folder argv[1].
  static let numpyMaker = """
    import os, sys, numpy as np
    sys.path.insert(0, os.path.join(sys.argv[4], "scripts/reference"))
    from spec_model import numpy_forward
    from import_torch import expected_tensors
    d, spec, shape = sys.argv[1], sys.argv[2], tuple(int(s) for s in sys.argv[3].split(","))
    rng = np.random.default_rng(5)
    sd = {}
    for name, s in expected_tensors(spec, shape):
        if name.endswith("running_var"): sd[name] = rng.uniform(0.5, 2.0, s).astype(np.float32)
        elif name.endswith("num_batches_tracked"): sd[name] = np.array(7, dtype=np.int64)
        else: sd[name] = (rng.standard_normal(s) * 0.3).astype(np.float32)
    x = rng.standard_normal((5,) + shape).astype(np.float32)
    mapping = sys.argv[5]
    if mapping == "torchvision-resnet":  # the same network under torchvision's names
        tv = {}
        for k, v in sd.items():
            if k.startswith("res"):
                i = int(k[3:k.index(".")]) - 1
                tv[f"layer{i // 2 + 1}.{i % 2}" + k[k.index("."):]] = v
            elif k.startswith("fc"): tv["fc" + k[k.index("."):]] = v
            elif k == "conv1.bias": sd[k][:] = 0  # torchvision's stem conv has no bias
            else: tv[k] = v
        np.savez(os.path.join(d, "weights.npz"), **tv)
    else:
        np.savez(os.path.join(d, "weights.npz"), **sd)
    x.tofile(os.path.join(d, "x.f32"))
    numpy_forward(spec, shape, sd, x).astype(np.float32).tofile(os.path.join(d, "ref.f32"))
    """

  static let torchMaker = """
    import os, sys, numpy as np, torch
    sys.path.insert(0, os.path.join(sys.argv[4], "scripts/reference"))
    from spec_model import build_torch
    d, spec, shape = sys.argv[1], sys.argv[2], tuple(int(s) for s in sys.argv[3].split(","))
    torch.manual_seed(3)
    net = build_torch(spec, shape)
    net.train()
    with torch.no_grad():
        for _ in range(3): net(torch.randn(6, *shape) * 1.5 + 0.3)  # move the running statistics
    net.eval()
    torch.save(net.state_dict(), os.path.join(d, "weights.pt"))
    x = torch.randn(5, *shape)
    x.numpy().astype(np.float32).tofile(os.path.join(d, "x.f32"))
    with torch.no_grad():
        net.double()(x.double()).numpy().astype(np.float32).tofile(os.path.join(d, "ref.f32"))
    """

  func floats(_ path: String) throws -> [Float] {
    try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  /// Makes the weights with `maker`, converts them, loads them with
  /// ``PretrainedWeights`` and compares the engine's eval logits with the reference.
  func check(_ spec: String, _ shape: [Int], maker: String, weights: String, mapping: String = "spec") throws {
    let python = try #require(ReferencePython.path)
    let dir = try makeTemporaryDirectory("gradmix-import")
    let repo = ReferencePython.repository.path
    let shapeText = shape.map(String.init).joined(separator: ",")
    let made = try runProgram(python, ["-c", maker, dir, spec, shapeText, repo, mapping])
    try #require(made.status == 0, "making the weights failed: \(made.stderr)")
    let out = dir + "/init.safetensors"
    let converted = try runProgram(
      python,
      [
        repo + "/scripts/reference/import_torch.py", dir + "/" + weights, "--spec", spec, "--input", shapeText,
        "--out", out, "--map", mapping, "--quiet",
      ])
    try #require(converted.status == 0, "import_torch.py failed: \(converted.stderr)")
    let model = try Sequential(spec: spec, inputShape: Shape(shape))
    let params = model.makeParameters(seed: 1), state = model.makeState()
    _ = try PretrainedWeights.load(from: out, model: model, parameters: params, state: state)
    let x = try floats(dir + "/x.f32")
    let n = x.count / model.inputShape.count
    let ws = model.makeWorkspace(maxBatch: n)
    for i in x.indices { ws.input[i] = x[i] }
    var rng = RNG(seed: 0)
    let logits = Array(model.forward(ws, batch: n, parameters: params, state: state, mode: .eval, rng: &rng))
    expectClose(logits, try floats(dir + "/ref.f32"), absolute: 1e-4, relative: 0, "\(spec) \(weights) \(mapping)")
  }

  @Test("NumPy: a random state_dict (.npz), converted and loaded, gives the NumPy reference's logits", arguments: 0..<2)
  func numpyPath(_ i: Int) throws {
    try check(Self.specs[i].0, Self.specs[i].1, maker: Self.numpyMaker, weights: "weights.npz")
  }

  @Test("NumPy: torchvision ResNet names (layer<s>.<b>, fc, bias-free stem conv) map onto the spec")
  func torchvisionNames() throws {
    try check(
      "conv4k3p1-bn-relu-res4-res4-res6s2-res6-gap-fc3", [2, 8, 8], maker: Self.numpyMaker,
      weights: "weights.npz", mapping: "torchvision-resnet")
  }

  @Test(
    "PyTorch: build_torch(spec) with random weights, torch.save(state_dict), converted and loaded: its logits",
    .enabled(if: ReferencePython.hasTorch, "needs torch (scripts/install-torch.sh)"), arguments: 0..<2)
  func torchPath(_ i: Int) throws {
    try check(Self.specs[i].0, Self.specs[i].1, maker: Self.torchMaker, weights: "weights.pt")
  }

  @Test("a state_dict that does not fit the spec: exit 2 and one error line naming the tensor and both shapes")
  func wrongShape() throws {
    let python = try #require(ReferencePython.path)
    let dir = try makeTemporaryDirectory("gradmix-import")
    let repo = ReferencePython.repository.path
    let made = try runProgram(
      python, ["-c", Self.numpyMaker, dir, "conv4k3-relu-fc3", "2,6,6", repo, "spec"])
    try #require(made.status == 0, "\(made.stderr)")
    let r = try runProgram(
      python,
      [
        repo + "/scripts/reference/import_torch.py", dir + "/weights.npz", "--spec", "conv5k3-relu-fc3", "--input",
        "2,6,6", "--out", dir + "/o.safetensors",
      ])
    #expect(r.status == 2)
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1 && lines[0].hasPrefix("error:") && lines[0].contains("'conv1.weight'"), "\(r.stderr)")
    #expect(r.stderr.contains("[4, 2, 3, 3]") && r.stderr.contains("[5, 2, 3, 3]"), "\(r.stderr)")
  }
}
