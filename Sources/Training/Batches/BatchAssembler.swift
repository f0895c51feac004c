import CIFAR
import Engine
import RunStore
import Tensor

/// Turns stored images into network input: scaling x / 255 * 2 - 1 and, for training, the augmentation of
/// method.md (random horizontal flip; random shift of -4...+4 pixels on each axis, the uncovered pixels set to the
/// run's `ShiftFill`: 0, mid-grey, as [L] does, or -1, black, as torchvision's padded random crop does).
public struct BatchAssembler: Sendable {
    /// Largest shift in pixels.
    public static let maximumShift = 4
    /// Input value of an uncovered pixel.
    public let fillValue: Float

    /// Random draws per augmented image (flip, vertical shift, horizontal shift).
    public static let drawsPerImage = 3

    /// Advances `random` past the draws of `images` augmented images, as `fill` would; a resumed epoch uses it to
    /// continue the epoch's augmentation stream exactly where it stopped.
    public static func skip(images: Int, random: inout SeededGenerator?) {
        guard var generator = random else { return }
        for _ in 0..<(images * drawsPerImage) { _ = generator.next() }
        random = generator
    }

    /// Pixel byte -> input value.
    private let scale: [Float] = (0..<256).map { Float($0) / 255 * 2 - 1 }

    /// An assembler of unaugmented batches (test passes): no shift, so no fill is ever used.
    public static let unaugmented = BatchAssembler(shiftFill: .zero)

    /// An assembler whose shifts fill uncovered pixels as `shiftFill` says (unaugmented batches ignore it).
    public init(shiftFill: ShiftFill) {
        fillValue = shiftFill.inputValue
    }

    /// Fills `input` (batch x 3 x 32 x 32) and `labels` (batch) with the images at `indices`.
    /// With `random`, each image is flipped and shifted by draws from it; without, images are copied as they are.
    public func fill(input: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>, from images: LabeledImages,
                     indices: some Collection<Int>, random: inout SeededGenerator?) {
        let side = LabeledImages.geometry.side
        let plane = side * side
        scale.withUnsafeBufferPointer { scale in
            images.pixels.withUnsafeBufferPointer { pixels in
                for (slot, index) in indices.enumerated() {
                    labels[slot] = Int32(images.labels[index])
                    let source = pixels.baseAddress! + index * LabeledImages.pixelsPerImage
                    let target = input + slot * LabeledImages.pixelsPerImage
                    guard var generator = random else {
                        for offset in 0..<LabeledImages.pixelsPerImage { target[offset] = scale[Int(source[offset])] }
                        continue
                    }
                    let flip = generator.next() & 1 == 1
                    let shiftY = Int(generator.next() % UInt64(2 * Self.maximumShift + 1)) - Self.maximumShift
                    let shiftX = Int(generator.next() % UInt64(2 * Self.maximumShift + 1)) - Self.maximumShift
                    random = generator
                    for channel in 0..<LabeledImages.geometry.channels {
                        let sourcePlane = source + channel * plane
                        let targetPlane = target + channel * plane
                        for y in 0..<side {
                            let sourceY = y + shiftY
                            let row = targetPlane + y * side
                            guard sourceY >= 0 && sourceY < side else {
                                row.update(repeating: fillValue, count: side)
                                continue
                            }
                            let sourceRow = sourcePlane + sourceY * side
                            for x in 0..<side {
                                let shiftedX = x + shiftX
                                let sourceX = flip ? side - 1 - shiftedX : shiftedX
                                row[x] = shiftedX >= 0 && shiftedX < side ? scale[Int(sourceRow[sourceX])] : fillValue
                            }
                        }
                    }
                }
            }
        }
    }
}
