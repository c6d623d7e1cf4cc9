import Foundation
import GradMixEngine
import Testing
import Yams

@testable import GradMixData

@Suite("tasks and target splits")
struct TaskSplitTests {
  @Test("applyTask keeps a class subset, maps labels and returns the mask of the mapped classes")
  func classSubsetsAndMaps() throws {
    let set = DataFixtures.randomSet(count: 40, height: 2, width: 2)  // labels 0...9, 4 each
    let (upper, mask) = try applyTask(
      set, TaskSpec(classes: [5, 6, 7, 8, 9]), targetClassCount: 10, field: "sources[1]")
    #expect(upper.count == 20 && upper.labels.allSatisfy { $0 >= 5 })
    #expect(mask.allowed == (0..<10).map { $0 >= 5 })
    #expect(upper.pixels == set.subset(set.labels.indices.filter { set.labels[$0] >= 5 }).pixels)
    let map = [5: 0, 6: 1, 7: 2, 8: 3, 9: 4]
    let (mapped, m2) = try applyTask(
      set, TaskSpec(classes: [5, 6, 7, 8, 9], labelMap: map), targetClassCount: 5, field: "t")
    #expect(mapped.labels == upper.labels.map { $0 - 5 })
    #expect(m2.allowed == [true, true, true, true, true])
    let (merged, m3) = try applyTask(
      set, TaskSpec(classes: [0, 1], labelMap: [0: 1, 1: 1]), targetClassCount: 3, field: "t")
    #expect(merged.count == 8 && merged.labels.allSatisfy { $0 == 1 } && m3.allowed == [false, true, false])

    expectDataError(
      .badConfig(field: "t.label_map", detail: "class 9 maps to 12, outside the target's classes 0..<10"),
      mentions: "t.label_map"
    ) {
      try applyTask(set, TaskSpec(classes: [9], labelMap: [9: 12]), targetClassCount: 10, field: "t")
    }
    expectDataError(
      .badConfig(field: "t.classes", detail: "class 7 maps to 7, outside the target's classes 0..<5"),
      mentions: "t.classes"
    ) { try applyTask(set, TaskSpec(classes: [7]), targetClassCount: 5, field: "t") }
    expectDataError(
      .badConfig(field: "t.label_map", detail: "has no entry for class 6 of t.classes"), mentions: "class 6"
    ) {
      try applyTask(set, TaskSpec(classes: [5, 6], labelMap: [5: 0]), targetClassCount: 10, field: "t")
    }
    expectDataError(.classNotInDomain(field: "t.classes", label: 11, imageCount: 40), mentions: "class 11") {
      try applyTask(set, TaskSpec(classes: [11]), targetClassCount: 12, field: "t")
    }
    expectDataError(
      .badConfig(field: "t.classes", detail: "lists a class more than once: [1, 1]"), mentions: "more than once"
    ) {
      try applyTask(set, TaskSpec(classes: [1, 1]), targetClassCount: 10, field: "t")
    }
  }

  @Test("a TaskSpec with a label map decodes from YAML and JSON")
  func taskCodable() throws {
    let t = try YAMLDecoder().decode(TaskSpec.self, from: "classes: [5, 6]\nlabelMap: {5: 0, 6: 1}\n")
    #expect(t == TaskSpec(classes: [5, 6], labelMap: [5: 0, 6: 1]))
    #expect(try JSONDecoder().decode(TaskSpec.self, from: JSONEncoder().encode(t)) == t)
  }

  @Test("target splits are deterministic, disjoint, exact per class and stratified", arguments: [UInt64(1), 2, 99])
  func splits(seed: UInt64) throws {
    // 7 classes with uneven counts: class c has 10 + 3c images.
    var labels = [Int32]()
    for c in 0..<7 { labels += Array(repeating: Int32(c), count: 10 + 3 * c) }
    var set = DataFixtures.randomSet(count: labels.count, height: 2, width: 2, seed: seed)
    set.labels = labels
    let a = try splitTarget(set, classCount: 7, labelledPerClass: 4, unlabelled: 30, test: 40, seed: seed)
    let b = try splitTarget(set, classCount: 7, labelledPerClass: 4, unlabelled: 30, test: 40, seed: seed)
    #expect(
      a.labelledIndices == b.labelledIndices && a.unlabelledIndices == b.unlabelledIndices
        && a.testIndices == b.testIndices)
    #expect(a.labelled.classCounts(classCount: 7) == Array(repeating: 4, count: 7))
    #expect(a.unlabelled.count == 30 && a.test.count == 40)
    let all = a.labelledIndices + a.unlabelledIndices + a.testIndices
    #expect(Set(all).count == all.count, "the parts share an image")
    #expect(a.test == set.subset(a.testIndices) && a.labelled == set.subset(a.labelledIndices))
    // Stratified: each class's test share is within one of proportional.
    let left = (0..<7).map { 10 + 3 * $0 - 4 }, total = left.reduce(0, +)
    for (c, n) in a.test.classCounts(classCount: 7).enumerated() {
      #expect(abs(Double(n) - Double(left[c] * 40) / Double(total)) < 1, "class \(c)")
    }
    let other = try splitTarget(set, classCount: 7, labelledPerClass: 4, unlabelled: 30, test: 40, seed: seed + 1000)
    #expect(other.labelledIndices != a.labelledIndices)
  }

  @Test("the validation part is disjoint from the others and leaves them unchanged")
  func validationPart() throws {
    var labels = [Int32]()
    for c in 0..<5 { labels += Array(repeating: Int32(c), count: 20) }
    var set = DataFixtures.randomSet(count: labels.count, height: 2, width: 2, seed: 3)
    set.labels = labels
    let plain = try splitTarget(
      set, classCount: 5, labelledPerClass: 2, unlabelled: 40, test: 30, validation: 0, seed: 3)
    let v = try splitTarget(set, classCount: 5, labelledPerClass: 2, unlabelled: 40, test: 30, validation: 15, seed: 3)
    #expect(plain.validation.count == 0 && v.validation.count == 15)
    #expect(
      v.labelledIndices == plain.labelledIndices && v.unlabelledIndices == plain.unlabelledIndices
        && v.testIndices == plain.testIndices)
    let all = v.labelledIndices + v.unlabelledIndices + v.testIndices + v.validationIndices
    #expect(Set(all).count == all.count, "the validation part shares an image")
    #expect(v.validation == set.subset(v.validationIndices))
    // Default: everything left (20 here), at most 1000.
    let d = try splitTarget(set, classCount: 5, labelledPerClass: 2, unlabelled: 40, test: 30, seed: 3)
    #expect(d.validation.count == 20)
    #expect(
      Set(d.validationIndices).isSuperset(of: v.validationIndices), "a larger validation set extends the smaller one")
    expectDataError(
      .notEnoughSamples(
        what: "target split: 21 validation images after 40 unlabelled and 30 test", needed: 21,
        available: 20), mentions: "validation"
    ) {
      try splitTarget(set, classCount: 5, labelledPerClass: 2, unlabelled: 40, test: 30, validation: 21, seed: 3)
    }
  }

  @Test("splits that ask for too much are rejected; absent classes are skipped")
  func splitErrors() throws {
    let set = DataFixtures.randomSet(count: 30, height: 2, width: 2, classCount: 5)  // 6 per class, classes 0-4
    expectDataError(
      .notEnoughSamples(what: "target split: 7 labelled images of class 0", needed: 7, available: 6),
      mentions: "class 0"
    ) {
      try splitTarget(set, classCount: 10, labelledPerClass: 7, unlabelled: 0, test: 0, seed: 1)
    }
    expectDataError(
      .notEnoughSamples(
        what: "target split: 10 unlabelled + 11 test images after 2 labelled per class",
        needed: 21, available: 20), mentions: "needs 21"
    ) {
      try splitTarget(set, classCount: 10, labelledPerClass: 2, unlabelled: 10, test: 11, seed: 1)
    }
    let s = try splitTarget(set, classCount: 10, labelledPerClass: 2, unlabelled: 10, test: 10, seed: 1)
    #expect(s.labelled.count == 10 && s.test.classCounts(classCount: 10) == [2, 2, 2, 2, 2, 0, 0, 0, 0, 0])
  }
}
