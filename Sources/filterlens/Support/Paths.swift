import Foundation

/// Default locations, relative to the working directory.
enum DefaultPaths {
    /// Where `data prepare` writes and every command reads CIFAR-10 unless --data says otherwise.
    static let data = "outputs/data"
    /// The JPEG copy of CIFAR-10 beside a checkout of the project.
    static let jpegSource = "../shared/datasets/cifar10-jpeg"
    /// Where runs go.
    static let outputs = "outputs"
}
