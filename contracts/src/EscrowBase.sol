// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceConsumer} from "./IInferenceConsumer.sol";
import {Merkle} from "./Merkle.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {TensorRoot} from "./TensorRoot.sol";

interface IProofVerifier {
    function verifyProof(bytes calldata proof, uint256[] calldata instances)
        external
        returns (bool);
}

/// The one thing the escrow asks of its DisputeGame at deployment.
interface IEscrowOfGame {
    function escrow() external view returns (address);
}

/// @title EscrowBase
/// @notice InferenceEscrow's state, errors, events, parameters, reads, withdrawals and the
///         checks and payouts its modes share (the callback, the burn, the zk verifier call).
///         The request and claim flows are in InferenceEscrow.sol; one contract is deployed.
abstract contract EscrowBase {
    enum Status {
        None,
        Open,
        Fulfilled,
        Refunded,
        Claimed,
        Batched
    }

    /// What `getRequest` returns (unchanged since the zk-only escrow).
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

    /// @dev The stored request with its claim, six words, laid out for the claim's gas: a claim
    ///      reads and rewrites words 0 and 1 (already non-zero) and writes 4 and 5, and never
    ///      touches 2 and 3; that keeps a MiniLM claim under its gas target. Amounts fit uint96:
    ///      they never exceed a msg.value, and all ether there is is < 2**87 wei. `batch` (the
    ///      batch claiming the request, 0 for none) shares word 0 with the status, so a batched
    ///      claim marks a request with the one write that changes its status (EscrowBatches);
    ///      uint48 seconds last millions of years.
    struct Entry {
        address provider;
        uint48 deadline;
        Status status;
        ModelRegistry.Mode mode;
        uint32 batch;
        uint64 modelId;
        uint64 windowEnd;
        uint96 bond;
        uint32 openGames;
        address client;
        uint96 payment;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 finalCheckpoint;
    }

    /// The one challenge an on-demand claim can have.
    struct Challenge {
        address challenger;
        uint64 proveDeadline;
        uint256 bond;
    }

    struct Callback {
        address target;
        uint32 gas;
    }

    error ZeroAddress();
    error ZeroTimeout();
    error TimeoutTooLong(uint64 given, uint64 max);
    error ZeroWindow();
    error WindowTooLong(uint64 given, uint64 max);
    error GameMismatch(address game, address gameEscrow);
    error ModelInactive(uint256 modelId);
    error WrongMode(uint256 modelId, ModelRegistry.Mode mode);
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    error InsufficientPayment(uint256 sent, uint256 fee);
    error AmountTooLarge(uint256 amount);
    error CallbackGasTooHigh(uint256 gas, uint256 max);
    error InputTooLarge(uint256 length, uint256 max);
    error BadInputLength(uint256 got, uint256 want);
    error UnknownRequest(uint256 requestId);
    error AlreadySettled(uint256 requestId);
    error NotProvider(address caller, address provider);
    error DeadlinePassed(uint256 requestId, uint64 deadline);
    error DeadlineNotPassed(uint256 requestId, uint64 deadline);
    error WrongInstanceCount(uint256 got, uint256 expected);
    error InputMismatch(bytes32 expected, bytes32 got);
    error OutputMismatch(bytes32 expected, bytes32 got);
    error InvalidProof();
    error BondTooLow(uint256 sent, uint256 min);
    error BadOutputLength(uint256 got, uint256 want);
    error OutputNotInCheckpoint(bytes32 outputRoot, bytes32 checkpoint);
    error ClaimNotOpen(uint256 requestId);
    error WindowOpen(uint256 requestId, uint64 windowEnd);
    error WindowClosed(uint256 requestId, uint64 windowEnd);
    error GamesOpen(uint256 openGames);
    error Challenged(uint256 requestId);
    error NotChallenged(uint256 requestId);
    error AlreadyChallenged(uint256 requestId);
    error SelfChallenge();
    error NotGame(address caller);
    error NoOpenGames(uint256 requestId);
    error CallbackGasTooLow(uint256 have, uint256 need);
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
    event OptimisticRequested(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed client,
        bytes input,
        bytes32[] inputRoots,
        uint256 payment,
        uint64 deadline
    );
    event Fulfilled(
        uint256 indexed requestId, address indexed provider, bytes32 outputHash, uint256[] outputs
    );
    event Claimed(
        uint256 indexed requestId,
        address indexed provider,
        bytes output,
        bytes32 finalCheckpoint,
        uint256 bond,
        uint64 windowEnd
    );
    event OnDemandClaimed(
        uint256 indexed requestId,
        address indexed provider,
        uint256[] outputs,
        uint256 bond,
        uint64 windowEnd
    );
    event OnDemandChallenged(
        uint256 indexed requestId, address indexed challenger, uint256 bond, uint64 proveDeadline
    );
    event OnDemandProven(uint256 indexed requestId, address indexed prover, uint256 paid);
    event OnDemandTimedOut(uint256 indexed requestId, address indexed challenger, uint256 paid);
    event Finalized(uint256 indexed requestId, address indexed provider, uint256 paid);
    event ClaimVoided(uint256 indexed requestId, address indexed challenger, uint256 reward);
    event Refunded(uint256 indexed requestId, address indexed client, uint256 amount);
    event CallbackFailed(uint256 indexed requestId, address indexed callback);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Longest allowed fulfil timeout. Bounded so `block.timestamp + fulfilTimeout`
    ///         can never overflow uint64 (which would make every request Panic) and so a
    ///         client's money is never locked for an unreasonable time if the provider vanishes.
    uint64 public constant MAX_FULFIL_TIMEOUT = 30 days;
    /// @notice Longest challenge or proving window, bounded for the same two reasons.
    uint64 public constant MAX_WINDOW = 30 days;
    /// @notice Largest optimistic input in bytes (ModelRegistry refuses models beyond it).
    uint256 public constant MAX_INPUT_BYTES = 16384;
    /// @notice Share of every lost bond that is burned, in basis points; the rest goes to the
    ///         winner. Without it a cheater caught by an honest watcher could race its own
    ///         sock-puppet challenger, win its bond back and pay nothing for cheating.
    uint256 public constant BURN_BPS = 5000;
    /// @notice Most gas a client may ask a settler to forward to its callback.
    uint256 public constant MAX_CALLBACK_GAS = 1_000_000;
    /// @dev Gas kept back around the callback: the CALL itself (cold account) and the
    ///      CallbackFailed event after a callee that used all its gas.
    uint256 internal constant CALLBACK_RESERVE = 10_000;

    ModelRegistry public immutable registry;
    address public immutable game;
    uint64 public immutable fulfilTimeout;
    uint64 public immutable challengeWindow;
    uint64 public immutable provingWindow;
    uint256 public requestCount;
    /// @notice Wei burned from lost bonds: held by this contract forever, never withdrawable.
    uint256 public burned;
    mapping(uint256 => Entry) internal _entries;
    mapping(uint256 => Challenge) internal _challenges;
    mapping(uint256 => Callback) internal _callbacks;
    mapping(address => uint256) public credits;

    /// @dev The game is deployed first with the escrow's predicted address; checking that it
    ///      names this escrow back means nobody can pair the escrow with another game, and
    ///      there is no setter or initializer to front-run.
    constructor(
        address registry_,
        address game_,
        uint64 fulfilTimeout_,
        uint64 challengeWindow_,
        uint64 provingWindow_
    ) {
        if (registry_ == address(0) || game_ == address(0)) revert ZeroAddress();
        if (fulfilTimeout_ == 0) revert ZeroTimeout();
        if (fulfilTimeout_ > MAX_FULFIL_TIMEOUT) {
            revert TimeoutTooLong(fulfilTimeout_, MAX_FULFIL_TIMEOUT);
        }
        _checkWindow(challengeWindow_);
        _checkWindow(provingWindow_);
        address named;
        try IEscrowOfGame(game_).escrow() returns (address e) {
            named = e;
        } catch {}
        if (named != address(this)) revert GameMismatch(game_, named);
        registry = ModelRegistry(registry_);
        game = game_;
        fulfilTimeout = fulfilTimeout_;
        challengeWindow = challengeWindow_;
        provingWindow = provingWindow_;
    }

    // ---- money ---------------------------------------------------------------------------

    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0; // zeroed before the call: a re-entrant withdraw finds nothing
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert WithdrawFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ---- reads ---------------------------------------------------------------------------

    function getRequest(uint256 requestId) external view returns (Request memory) {
        Entry storage e = _entries[requestId];
        if (e.status == Status.None) revert UnknownRequest(requestId);
        return Request(
            e.client,
            e.deadline,
            e.status,
            e.provider,
            e.modelId,
            e.payment,
            e.inputHash,
            e.outputHash
        );
    }

    /// @notice The request's mode (snapshotted when it was made).
    function modeOf(uint256 requestId) external view returns (ModelRegistry.Mode) {
        return _entries[requestId].mode;
    }

    /// @notice The consumer and gas limit the final result is delivered with (zero if none).
    function callbackOf(uint256 requestId) external view returns (address, uint256) {
        Callback memory cb = _callbacks[requestId];
        return (cb.target, cb.gas);
    }

    /// @notice True once a result is final (a refunded or voided request is never final).
    function isFinalized(uint256 requestId) external view returns (bool) {
        return _entries[requestId].status == Status.Fulfilled;
    }

    function outputHash(uint256 requestId) external view returns (bytes32) {
        return _entries[requestId].outputHash;
    }

    // ---- internals -----------------------------------------------------------------------

    function _checkWindow(uint64 window) private pure {
        if (window == 0) revert ZeroWindow();
        if (window > MAX_WINDOW) revert WindowTooLong(window, MAX_WINDOW);
    }

    function _open(uint256 requestId) internal view returns (Entry storage e) {
        e = _entries[requestId];
        if (e.status == Status.None) revert UnknownRequest(requestId);
        if (e.status != Status.Open) revert AlreadySettled(requestId);
    }

    /// An open request of `mode`, served by its provider before the deadline.
    function _serve(uint256 requestId, ModelRegistry.Mode mode)
        internal
        view
        returns (Entry storage e)
    {
        e = _open(requestId);
        if (e.mode != mode) revert WrongMode(e.modelId, e.mode);
        if (msg.sender != e.provider) revert NotProvider(msg.sender, e.provider);
        if (block.timestamp > e.deadline) revert DeadlinePassed(requestId, e.deadline);
    }

    function _claimed(uint256 requestId) internal view returns (Entry storage e) {
        e = _entries[requestId];
        if (e.status == Status.None) revert UnknownRequest(requestId);
        if (e.status != Status.Claimed) revert ClaimNotOpen(requestId);
    }

    function _claimedIn(uint256 requestId, ModelRegistry.Mode mode)
        internal
        view
        returns (Entry storage e)
    {
        e = _claimed(requestId);
        if (e.mode != mode) revert WrongMode(e.modelId, e.mode);
    }

    function _checkBond(uint256 modelId) internal view {
        uint256 minBond = registry.minBondOf(modelId);
        if (msg.value < minBond) revert BondTooLow(msg.value, minBond);
    }

    /// Records a claim (status, bond, output hash, window) and returns its window's end.
    function _claimWith(Entry storage e, bytes32 outHash) internal returns (uint64 windowEnd) {
        windowEnd = uint64(block.timestamp) + challengeWindow;
        (e.status, e.windowEnd, e.bond) = (Status.Claimed, windowEnd, _u96(msg.value));
        e.outputHash = outHash;
    }

    /// The bond is enough (when `bonded`: a claim; a batched finalize carries none), and the
    /// output's tensor root sits at the output slot of `checkpoint` at the depth a checkpoint
    /// over nSlots slots has (so no inner node passes as a slot).
    function _checkOutput(
        uint256 modelId,
        bytes calldata output,
        bytes32 checkpoint,
        bytes32[] calldata proof,
        bool bonded
    ) internal view {
        (uint256 minBond, uint256 nSlots, uint256 slot, uint256 rows, uint256 width) =
            registry.outputSpecOf(modelId);
        if (bonded && msg.value < minBond) revert BondTooLow(msg.value, minBond);
        if (output.length != rows * width * 4) {
            revert BadOutputLength(output.length, rows * width * 4);
        }
        bytes32 root = TensorRoot.ofBe32(output, 0, rows, width);
        uint256 depth = Merkle.depthFor(nSlots);
        if (proof.length != depth) revert Merkle.WrongDepth(proof.length, depth);
        if (Merkle.root(root, slot, proof) != checkpoint) {
            revert OutputNotInCheckpoint(root, checkpoint);
        }
    }

    /// Verifier and input count of the request's zk model; checks the layout and the inputs.
    function _zkLayout(Entry storage e, uint256[] calldata instances)
        internal
        view
        returns (address verifier, uint256 n)
    {
        ModelRegistry.Model memory m = registry.getModel(e.modelId);
        n = m.nInputs;
        uint256 expected = n + m.nOutputs; // uint256 sum: two uint32s cannot overflow it
        if (instances.length != expected) revert WrongInstanceCount(instances.length, expected);
        bytes32 got = _hashWords(instances[:n]);
        if (got != e.inputHash) revert InputMismatch(e.inputHash, got);
        verifier = m.verifier;
    }

    /// The winner's share of a lost bond; the rest is burned (BURN_BPS).
    function _reward(uint256 lost) internal returns (uint256) {
        uint256 burn = lost * BURN_BPS / 10_000;
        burned += burn;
        return lost - burn;
    }

    function _u96(uint256 amount) internal pure returns (uint96) {
        if (amount > type(uint96).max) revert AmountTooLarge(amount);
        return uint96(amount);
    }

    /// @dev Delivers a final result to the request's consumer, if any, after every state
    ///      change (checks-effects-interactions). The callee gets exactly the client's gas
    ///      limit: the caller must forward enough (CallbackGasTooLow), so a settler cannot
    ///      starve the callback on purpose; a callback that reverts or burns its gas only emits
    ///      CallbackFailed, so no consumer can block settlement. No return data is copied.
    function _deliver(uint256 requestId, bytes memory output) internal {
        Callback memory cb = _callbacks[requestId];
        if (cb.target == address(0)) return;
        bytes memory data = abi.encodeCall(IInferenceConsumer.onResult, (requestId, output));
        (address target, uint256 limit) = (cb.target, cb.gas);
        // EIP-150 forwards at most 63/64 of what is left; ask for enough that the cap binds.
        uint256 need = limit * 64 / 63 + CALLBACK_RESERVE;
        if (gasleft() < need) revert CallbackGasTooLow(gasleft(), need);
        bool ok;
        assembly ("memory-safe") {
            ok := call(limit, target, 0, add(data, 32), mload(data), 0, 0)
        }
        if (!ok) emit CallbackFailed(requestId, target);
    }

    /// @dev keccak256 of the 32-byte words, i.e. keccak256(abi.encodePacked(words)).
    function _hashWords(uint256[] calldata words) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let len := mul(words.length, 32)
            calldatacopy(ptr, words.offset, len)
            h := keccak256(ptr, len)
        }
    }

    /// @dev abi.encodePacked(words): what a zk consumer receives, hashing to the output hash.
    function _packWords(uint256[] calldata words) internal pure returns (bytes memory out) {
        out = new bytes(words.length * 32);
        assembly ("memory-safe") {
            calldatacopy(add(out, 32), words.offset, mload(out))
        }
    }

    /// @dev EZKL's verifier REVERTS on a bad proof instead of returning false, so a revert,
    ///      short return data or anything but `true` all count as rejection. STATICCALL: the
    ///      verifier is pure computation, and forbidding state changes rules out re-entrancy
    ///      from a provider-chosen verifier contract.
    function _verify(address verifier, bytes calldata proof, uint256[] calldata instances)
        internal
        view
    {
        (bool ok, bytes memory ret) = verifier.staticcall(
            abi.encodeCall(IProofVerifier.verifyProof, (proof, instances))
        );
        if (!ok || ret.length < 32 || abi.decode(ret, (uint256)) != 1) revert InvalidProof();
    }}
