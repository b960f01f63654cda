// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IModelRegistry {
    struct Model {
        address owner;
        address verifier;
        uint256 fee;
        bytes32 commitment;
        uint32 nInputs;
        uint32 nOutputs;
        bool active;
    }

    function getModel(uint256 modelId) external view returns (Model memory);
}

interface IProofVerifier {
    function verifyProof(bytes calldata proof, uint256[] calldata instances)
        external
        returns (bool);
}

/// @title InferenceEscrow
/// @notice A client escrows a model's fee against the hash of its input; the model's provider
///         is paid when it posts a proof that the registered verifier accepts for exactly that
///         input; after the deadline the client can take the payment back. All payouts are
///         credits withdrawn with `withdraw()` (pull payments).
/// @dev Overpayment: anything sent above the fee is credited back to the client at once, so
///      the provider earns exactly the advertised fee and a client never loses a rounding excess.
contract InferenceEscrow {
    enum Status {
        None,
        Open,
        Fulfilled,
        Refunded
    }

    struct Request {
        address client;
        uint64 deadline;
        Status status;
        address provider;
        uint256 modelId;
        uint256 payment;
        bytes32 inputHash;
        bytes32 outputHash;
    }

    error ZeroAddress();
    error ZeroTimeout();
    error TimeoutTooLong(uint64 given, uint64 max);
    error ModelInactive(uint256 modelId);
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    error InsufficientPayment(uint256 sent, uint256 fee);
    error UnknownRequest(uint256 requestId);
    error AlreadySettled(uint256 requestId);
    error NotProvider(address caller, address provider);
    error DeadlinePassed(uint256 requestId, uint64 deadline);
    error DeadlineNotPassed(uint256 requestId, uint64 deadline);
    error WrongInstanceCount(uint256 got, uint256 expected);
    error InputMismatch(bytes32 expected, bytes32 got);
    error InvalidProof();
    error NothingToWithdraw();
    error WithdrawFailed(address account, uint256 amount);

    event Requested(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed client,
        bytes32 inputHash,
        uint256 payment,
        uint64 deadline
    );
    event Fulfilled(
        uint256 indexed requestId, address indexed provider, bytes32 outputHash, uint256[] outputs
    );
    event Refunded(uint256 indexed requestId, address indexed client, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Longest allowed fulfil timeout. Bounded so `block.timestamp + fulfilTimeout`
    ///         can never overflow uint64 (which would make every request Panic) and so a
    ///         client's money is never locked for an unreasonable time if the provider vanishes.
    uint64 public constant MAX_FULFIL_TIMEOUT = 30 days;

    IModelRegistry public immutable registry;
    uint64 public immutable fulfilTimeout;
    uint256 public requestCount;
    mapping(uint256 => Request) private _requests;
    mapping(address => uint256) public credits;

    constructor(address registry_, uint64 fulfilTimeout_) {
        if (registry_ == address(0)) revert ZeroAddress();
        if (fulfilTimeout_ == 0) revert ZeroTimeout();
        if (fulfilTimeout_ > MAX_FULFIL_TIMEOUT) {
            revert TimeoutTooLong(fulfilTimeout_, MAX_FULFIL_TIMEOUT);
        }
        registry = IModelRegistry(registry_);
        fulfilTimeout = fulfilTimeout_;
    }

    /// @notice Escrow the model's current fee for `inputHash`; `maxFee` caps what may be taken.
    /// @dev The fee is read at execution time, not when the client quoted it, so without a cap
    ///      a provider could see the request in the mempool and front-run it with setFee to
    ///      pocket everything the client sent (clients often send a margin). FeeAboveMax makes
    ///      the request fail instead; the client keeps its money and can re-quote.
    function request(uint256 modelId, bytes32 inputHash, uint256 maxFee)
        external
        payable
        returns (uint256 requestId)
    {
        IModelRegistry.Model memory m = registry.getModel(modelId); // reverts UnknownModel
        if (!m.active) revert ModelInactive(modelId);
        if (m.fee > maxFee) revert FeeAboveMax(m.fee, maxFee);
        if (msg.value < m.fee) revert InsufficientPayment(msg.value, m.fee);
        if (msg.value > m.fee) credits[msg.sender] += msg.value - m.fee;
        uint64 deadline = uint64(block.timestamp) + fulfilTimeout;
        requestId = ++requestCount;
        // Provider and fee are snapshotted: later setFee/setActive/ownership changes cannot
        // change the terms of a request that is already paid for (an ownership transfer only
        // redirects new requests; this one settles with m.owner or refunds at the deadline).
        _requests[requestId] = Request({
            client: msg.sender,
            deadline: deadline,
            status: Status.Open,
            provider: m.owner,
            modelId: modelId,
            payment: m.fee,
            inputHash: inputHash,
            outputHash: bytes32(0)
        });
        emit Requested(requestId, modelId, msg.sender, inputHash, m.fee, deadline);
    }

    /// @notice Settle a request with a proof. `instances` = nInputs input instances, then
    ///         nOutputs outputs, exactly as registered.
    /// @dev Only the provider may fulfil: a valid proof seen in the mempool could otherwise be
    ///      copied and front-run by anyone to steal the fee. Replay protection is the input
    ///      hash: a proof for another input fails InputMismatch; a proof for the *same* input
    ///      (even one made for an earlier request) is by definition a correct answer.
    ///      The instance count must match the registered layout exactly: the verifier only
    ///      checks the instances as a whole, so with a free split a provider could move input
    ///      instances into the output part (or vice versa) and record a wrong "output".
    function fulfill(uint256 requestId, bytes calldata proof, uint256[] calldata instances)
        external
    {
        Request storage r = _open(requestId);
        if (msg.sender != r.provider) revert NotProvider(msg.sender, r.provider);
        if (block.timestamp > r.deadline) revert DeadlinePassed(requestId, r.deadline);
        IModelRegistry.Model memory m = registry.getModel(r.modelId);
        uint256 n = m.nInputs;
        uint256 expected = n + m.nOutputs; // uint256 sum: two uint32s cannot overflow it
        if (instances.length != expected) revert WrongInstanceCount(instances.length, expected);
        bytes32 got = _hashWords(instances[:n]);
        if (got != r.inputHash) revert InputMismatch(r.inputHash, got);
        bytes32 outHash = _hashWords(instances[n:]);
        // Effects before the interaction: if the proof is bad the whole call reverts anyway.
        r.status = Status.Fulfilled;
        r.outputHash = outHash;
        credits[r.provider] += r.payment;
        _verify(m.verifier, proof, instances);
        emit Fulfilled(requestId, r.provider, outHash, instances[n:]);
    }

    /// @notice After the deadline an unfulfilled request's payment is credited to its client.
    ///         Anyone may trigger it; the money can only go to the client.
    function refund(uint256 requestId) external {
        Request storage r = _open(requestId);
        if (block.timestamp <= r.deadline) revert DeadlineNotPassed(requestId, r.deadline);
        r.status = Status.Refunded;
        credits[r.client] += r.payment;
        emit Refunded(requestId, r.client, r.payment);
    }

    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0; // zeroed before the call: a re-entrant withdraw finds nothing
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert WithdrawFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    function getRequest(uint256 requestId) external view returns (Request memory) {
        Request memory r = _requests[requestId];
        if (r.status == Status.None) revert UnknownRequest(requestId);
        return r;
    }

    /// @notice True once a verified output is recorded (a refunded request is never final).
    function isFinalized(uint256 requestId) external view returns (bool) {
        return _requests[requestId].status == Status.Fulfilled;
    }

    function outputHash(uint256 requestId) external view returns (bytes32) {
        return _requests[requestId].outputHash;
    }

    function _open(uint256 requestId) private view returns (Request storage r) {
        r = _requests[requestId];
        if (r.status == Status.None) revert UnknownRequest(requestId);
        if (r.status != Status.Open) revert AlreadySettled(requestId);
    }

    /// @dev keccak256 of the 32-byte words, i.e. keccak256(abi.encodePacked(words)).
    function _hashWords(uint256[] calldata words) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let len := mul(words.length, 32)
            calldatacopy(ptr, words.offset, len)
            h := keccak256(ptr, len)
        }
    }

    /// @dev EZKL's verifier REVERTS on a bad proof instead of returning false, so a revert,
    ///      short return data or anything but `true` all count as rejection. STATICCALL: the
    ///      verifier is pure computation, and forbidding state changes rules out re-entrancy
    ///      from a provider-chosen verifier contract.
    function _verify(address verifier, bytes calldata proof, uint256[] calldata instances)
        private
        view
    {
        (bool ok, bytes memory ret) = verifier.staticcall(
            abi.encodeCall(IProofVerifier.verifyProof, (proof, instances))
        );
        if (!ok || ret.length < 32 || abi.decode(ret, (uint256)) != 1) revert InvalidProof();
    }
}
