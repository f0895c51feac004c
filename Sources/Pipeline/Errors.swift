// The ways a phase ends other than by finishing.

/// A phase stopped on request after saving its checkpoint; the command line reports it as one line, exit status 130.
public struct StoppedAfterSaving: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// A run that cannot go on as asked (an existing run directory, a missing checkpoint, data that do not match the
/// run): one sentence naming the path and what to do.
public struct PipelineError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A request whose settings contradict the run they are for (found only once the run is read, e.g. one probe
/// learning rate per layer for another layer count): the command line reports it as a flag error.
public struct InvalidRequest: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
