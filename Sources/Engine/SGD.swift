import Tensor

/// Stochastic gradient descent with momentum and L2 weight decay, PyTorch semantics (dampening 0):
/// g = grad + weightDecay * p; v = momentum * v + g; p -= lr * (nesterov ? g + momentum * v : v).
/// The first step gives v = g, as PyTorch's. Weight decay applies to every parameter (batch norm and biases too,
/// as with `torch.optim.SGD(model.parameters(), ...)`).
public struct SGD {
    /// Momentum coefficient.
    public var momentum: Float
    /// L2 weight decay coefficient.
    public var weightDecay: Float
    /// Nesterov momentum (PyTorch's formulation).
    public var nesterov: Bool
    /// The momentum buffer v, one Float per parameter, starts at 0.
    public var velocity: FloatBuffer

    /// An optimizer for `parameterCount` Floats with zero velocity.
    public init(parameterCount: Int, momentum: Float, weightDecay: Float, nesterov: Bool = true) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        velocity = FloatBuffer(count: parameterCount)
    }

    /// One update of `parameters` from `gradients` (same count as the velocity; gradients are not modified).
    public mutating func step(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float) {
        precondition(parameters.count == velocity.count && gradients.count == velocity.count,
                     "SGD for \(velocity.count) parameters got \(parameters.count) parameters, \(gradients.count) gradients")
        let p = parameters.pointer, g = gradients.pointer, v = velocity.pointer
        let m = momentum, wd = weightDecay, lr = learningRate, nesterov = nesterov
        Parallel.forRanges(velocity.count, grain: 1 << 16) { range in
            if nesterov {
                for i in range {
                    let grad = g[i] + wd * p[i]
                    let newV = m * v[i] + grad
                    v[i] = newV
                    p[i] -= lr * (grad + m * newV)
                }
            } else {
                for i in range {
                    let newV = m * v[i] + (g[i] + wd * p[i])
                    v[i] = newV
                    p[i] -= lr * newV
                }
            }
        }
    }

    /// Sets the velocity back to 0.
    public func reset() { velocity.zero() }
}
