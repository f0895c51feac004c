// The ways a phase ends other than by finishing.

/// A phase stopped on request after saving its checkpoint; the command line reports it as one line, exit status 130.
public struct StoppedAfterSaving: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// A run that cannot go on as asked, by cause, each with the file or folder it concerns. `description` states the
/// problem and what to do in the pipeline's terms; the command line composes its own advice naming flags and commands
/// (`Sources/filterlens/Support/Failure.swift`).
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    /// Resuming, but the run has no checkpoint (`checkpoint`: its path).
    case nothingToResume(checkpoint: String)
    /// `writer` holds the run's lock and has saved nothing yet.
    case nothingSavedYet(directory: String, writer: String)
    /// The folder holds no run (neither run.h5 nor checkpoint.h5).
    case notARun(directory: String)
    /// The run's lock file cannot be opened (`reason`: the system's).
    case lockUnavailable(lockFile: String, reason: String)
    /// `holder` is writing the run.
    case inUse(directory: String, holder: String)
    /// A run exists where a new one was to start.
    case runExists(directory: String)
    /// The run folder cannot be created (`reason`: the system's).
    case cannotCreate(directory: String, reason: String)
    /// The data folder holds `holds`, the run was trained on `recorded`.
    case otherDataset(directory: String, holds: String, recorded: String)
    /// The labels asked for (or recorded) do not fit the data set (`problem`: which and why).
    case labelsNotInData(directory: String, problem: String)
    /// The run's configuration lists `listed` labels for a label count of `count`.
    case labelCountMismatch(listed: Int, count: Int)
    /// The data set has no images of `split` ("training", "test") with `labels`.
    case noImages(directory: String, split: String, labels: [Int])

    /// The problem, naming the file or folder.
    public var problem: String {
        switch self {
        case .nothingToResume(let checkpoint): "\(checkpoint): no checkpoint to resume from"
        case .nothingSavedYet(let directory, let writer): "\(directory): \(writer) is writing this run and has saved nothing yet"
        case .notARun(let directory): "\(directory): no run here (neither run.h5 nor checkpoint.h5)"
        case .lockUnavailable(let lockFile, let reason): "\(lockFile): cannot open the run's lock file (\(reason))"
        case .inUse(let directory, let holder): "\(directory): in use by \(holder), which is writing this run"
        case .runExists(let directory): "\(directory): a run exists here"
        case .cannotCreate(let directory, let reason): "\(directory): cannot create the run directory (\(reason))"
        case .otherDataset(let directory, let holds, let recorded):
            "\(directory): holds \(holds), but the run was trained on \(recorded)"
        case .labelsNotInData(let directory, let problem): "\(directory): \(problem)"
        case .labelCountMismatch(let listed, let count):
            "the run's configuration lists \(listed) labels for a label count of \(count)"
        case .noImages(let directory, let split, let labels):
            "\(directory): no \(split) images with the labels \(labels.map(String.init).joined(separator: ","))"
        }
    }

    /// The problem and what to do, without naming flags or commands.
    public var description: String {
        let fix = switch self {
        case .nothingToResume: "start the run anew"
        case .nothingSavedYet: "its first checkpoint comes after epoch 1 or a few minutes into it"
        case .notARun: "start a run there first"
        case .lockUnavailable: "make the folder writable"
        case .inUse: "wait for it to finish or stop it (Ctrl-C, or kill -INT with its pid), then try again"
        case .runExists: "continue it, overwrite it, or choose another folder"
        case .cannotCreate: "choose a writable folder"
        case .otherDataset: "restore the run's data there"
        case .labelsNotInData, .noImages: "choose other labels"
        case .labelCountMismatch: "train the run again"
        }
        return "\(problem); \(fix)"
    }
}

/// A request whose settings contradict the run they are for (found only once the run is read, e.g. one probe
/// learning rate per layer for another layer count): the command line reports it as a flag error.
public struct InvalidRequest: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
