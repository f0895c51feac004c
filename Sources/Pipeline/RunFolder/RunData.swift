import CIFAR
import Foundation
import RunStore

/// The data of a run: the data set its configuration names and the images of its labels, for phases 1 and 2 (and
/// whatever else retrains a run's network).
public enum RunData {
    /// The data set `configuration` was trained on (its recorded folder, layout and label set).
    public static func dataset(of configuration: RunConfiguration) throws -> Dataset {
        let labelSet = configuration.labelSet.flatMap(LabelSet.init(rawValue:))
        let dataset = try Dataset.locate(configuration.dataDirectory, labelSet: labelSet)
        let recorded = configuration.dataFormat ?? DatasetFormat.cifar10.rawValue
        guard dataset.format.rawValue == recorded else {
            throw PipelineError.otherDataset(directory: configuration.dataDirectory, holds: dataset.format.displayName, recorded: recorded)
        }
        return dataset
    }

    /// The labels `labels` ("K": the first K; "0,3,5": those, in that order; nil: all) selects of `dataset`.
    static func selection(_ labels: String?, of dataset: Dataset) throws -> LabelSelection {
        guard let labels else { return .all(dataset.labelCount) }
        do {
            return try LabelSelection.parse(labels, labelCount: dataset.labelCount)
        } catch {
            throw PipelineError.labelsNotInData(directory: dataset.directory.path, problem: error.description)
        }
    }

    /// The run's label selection, checked against `dataset`.
    public static func selection(_ dataset: Dataset, for configuration: RunConfiguration) throws -> LabelSelection {
        let selection = LabelSelection(indices: configuration.sourceLabels)
        do {
            try selection.validate(labelCount: dataset.labelCount)
        } catch {
            throw PipelineError.labelsNotInData(directory: dataset.directory.path, problem: "the run's \(error.description)")
        }
        guard selection.indices.count == configuration.labelCount else {
            throw PipelineError.labelCountMismatch(listed: selection.indices.count, count: configuration.labelCount)
        }
        return selection
    }

    /// The run's names of its labels, in run label order.
    public static func labelNames(_ dataset: Dataset, for configuration: RunConfiguration) throws -> [String] {
        try selection(dataset, for: configuration).names(from: dataset.labelNames)
    }

    /// The training and test images of the run's labels (relabelled 0 ..< K), the first `trainImages` and
    /// `testImages` of them.
    public static func load(_ dataset: Dataset, for configuration: RunConfiguration) throws -> (train: LabeledImages, test: LabeledImages) {
        let selection = try selection(dataset, for: configuration)
        let train = try dataset.load(.train, limit: configuration.trainImages, labels: selection)
        let test = try dataset.load(.test, limit: configuration.testImages, labels: selection)
        for (split, images) in [("training", train), ("test", test)] where images.count == 0 {
            throw PipelineError.noImages(directory: dataset.directory.path, split: split, labels: selection.indices)
        }
        return (train, test)
    }
}

extension RunConfiguration {
    /// This recipe on `dataset`'s labels `selection`: the data set's name, folder, format, label set and MD5.
    func on(_ dataset: Dataset, labels selection: LabelSelection) -> RunConfiguration {
        var configuration = self
        configuration.dataset = dataset.name
        configuration.dataDirectory = dataset.directory.path
        configuration.labelCount = selection.indices.count
        configuration.labels = selection.indices
        configuration.dataFormat = dataset.format.rawValue
        configuration.labelSet = dataset.labelSet?.rawValue
        configuration.dataMD5 = dataset.sourceMD5
        if !selection.isAll(of: dataset.labelCount) {
            configuration.dataset += ", \(selection.indices.count) of \(dataset.labelCount) labels"
        }
        return configuration
    }
}

/// Provenance across resumes.
enum RunProvenance {
    /// The provenance of a resumed run: the `original` launch's, with the resuming process (`now`) appended to
    /// `resumed` as "<time> <command line> (git <commit>)"; several resumes are separated by "; ".
    static func resumed(_ original: [String: String], by now: [String: String]) -> [String: String] {
        var values = original
        let entry = "\(now["started"] ?? "?") \(now["command_line"] ?? "?") (git \(now["git_commit"] ?? "?"))"
        values["resumed"] = [original["resumed"], entry].compactMap { $0 }.joined(separator: "; ")
        return values
    }
}
