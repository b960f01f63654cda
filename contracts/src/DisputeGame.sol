// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {GameMath} from "./GameMath.sol";
import {IGameEscrow} from "./IGameEscrow.sol";
import {IOptimisticRegistry} from "./IOptimisticRegistry.sol";
import {LeafCodec} from "./LeafCodec.sol";
import {Merkle} from "./Merkle.sol";
import {OneStepVerifier} from "./OneStepVerifier.sol";
import {StartCheckpoint} from "./StartCheckpoint.sol";
import {StepCodec} from "./StepCodec.sol";

/// @title DisputeGame
/// @notice Interactive games on optimistic claims (docs/optimistic.md, "The game"): a challenger
///         bonds against a provider's claimed final checkpoint P_n; a K-ary dissection over the
///         points P_0..P_n narrows the dispute to one step s, the asserter shows P_{s+1} is P_s
///         with only step s's slot set to a tensor root, a K-ary descent narrows that tensor to
///         one row, and the OneStepVerifier recomputes one element of it. Whoever is wrong, or
///         misses a deadline, loses.
/// @dev Per move the game stores only what the next move is checked against (range ends, the
///      hash of the vector just posted, the current node); the vectors themselves are in the
///      events, so agents rebuild them from logs. Every loop is bounded by K <= 64 or a tree
///      depth. Payments are pulled (credits + withdraw); the escrow is the only other contract
///      called, after this contract's own state is written.
contract DisputeGame {
    enum Phase {
        None,
        Dissect,
        Choose,
        SlotProof,
        Reveal,
        Pick,
        Row,
        OneStep,
        Resolved,
        Cancelled
    }

    /// Why a game ended: a missed deadline, the one-step verdict, or a padding subtree.
    enum Reason {
        Timeout,
        OneStep,
        Padding
    }

    struct Game {
        uint256 requestId;
        address asserter;
        Phase phase;
        uint64 deadline;
        address challenger;
        uint32 lo;
        uint32 hi;
        uint32 nSteps;
        uint256 bond;
        bytes32 programRoot;
        bytes32 loRoot;
        bytes32 hiRoot;
        bytes32 posted;
        bytes32 node;
        uint64 index;
        uint8 left;
        uint64 nRows;
        uint64 width;
        uint32 firstStep;
    }

    /// Share of a losing challenger's bond that is burned, in basis points. Why: a provider
    /// that loses to its own sock-puppet challenger must still pay, and a griefing challenger
    /// must not be made whole by the provider it attacked.
    uint256 public constant BURN_BPS = 5000;
    /// Longest move timeout: `block.timestamp + moveTimeout` must never overflow uint64 (every
    /// move would Panic and no game could end), and a game must end in bounded time.
    uint64 public constant MAX_MOVE_TIMEOUT = 7 days;
    uint8 private constant REFUNDED = 3;
    uint8 private constant CLAIMED = 4;

    IGameEscrow public immutable escrow;
    IOptimisticRegistry public immutable registry;
    OneStepVerifier public immutable osv;
    uint64 public immutable moveTimeout;
    uint256 public immutable arity;
    uint256 private immutable logArity;

    uint256 public gameCount;
    uint256 public burned;
    mapping(uint256 => Game) private games;
    mapping(uint256 => uint256[]) private byRequest;
    mapping(address => uint256) public credits;

    error BadArity(uint256 arity);
    error BadTimeout(uint64 given, uint64 max);
    error UnknownGame(uint256 gameId);
    error GameOver(uint256 gameId);
    error ClaimVoided(uint256 requestId);
    error NotVoided(uint256 requestId);
    error ClaimNotOpen(uint256 requestId);
    error WrongPhase(Phase have, Phase want);
    error NotYourTurn(address caller, address expected);
    error MoveTooLate(uint256 deadline, uint256 time);
    error DeadlineNotPassed(uint256 deadline, uint256 time);
    error BondTooLow(uint256 sent, uint256 min);
    error SelfChallenge();
    error NoDisagreement();
    error WrongInputRoots();
    error WrongStartData();
    error NoSteps();
    error WrongPointCount(uint256 got, uint256 want);
    error PointsMismatch();
    error IndexOutOfRange(uint256 j, uint256 n);
    error WrongNodeCount(uint256 got, uint256 want);
    error NodesMismatch();
    error LeafMismatch();
    error WrongWidth(uint256 got, uint256 want);
    error WrongRow(uint256 got, uint256 want);
    error NothingToWithdraw();
    error TransferFailed();

    event GameOpened(
        uint256 indexed gameId,
        uint256 indexed requestId,
        address indexed challenger,
        address asserter,
        bytes32 challengerCheckpoint,
        bytes32 startCheckpoint,
        uint256 bond
    );
    event Bisected(uint256 indexed gameId, uint256 lo, uint256 hi, bytes32[] points);
    event Chosen(uint256 indexed gameId, uint256 j, uint256 lo, uint256 hi);
    event SlotProven(
        uint256 indexed gameId, uint256 step, bytes32 root, uint256 nRows, uint256 width
    );
    event NodesRevealed(uint256 indexed gameId, uint256 index, uint256 left, bytes32[] nodes);
    event NodePicked(uint256 indexed gameId, uint256 j, uint256 index, uint256 left, bytes32 node);
    event RowRevealed(uint256 indexed gameId, uint256 row, bytes leaf);
    event Resolved(uint256 indexed gameId, address winner, address loser, Reason reason);
    event Cancelled(uint256 indexed gameId, uint256 indexed requestId);

    /// @param escrow_ the InferenceEscrow holding the claims (deployed after this contract, at
    ///        its predicted address; it checks `escrow()` points back at it).
    /// @param arity_ K, a power of two in 2..64: more points per move mean fewer moves but
    ///        more calldata per move (docs/threat-model.md).
    constructor(
        address escrow_,
        address registry_,
        address osv_,
        uint64 moveTimeout_,
        uint256 arity_
    ) {
        if (arity_ < 2 || arity_ > 64 || arity_ & (arity_ - 1) != 0) revert BadArity(arity_);
        if (moveTimeout_ == 0 || moveTimeout_ > MAX_MOVE_TIMEOUT) {
            revert BadTimeout(moveTimeout_, MAX_MOVE_TIMEOUT);
        }
        escrow = IGameEscrow(escrow_);
        registry = IOptimisticRegistry(registry_);
        osv = OneStepVerifier(osv_);
        moveTimeout = moveTimeout_;
        arity = arity_;
        logArity = GameMath.log2(arity_);
    }

    // ---- opening ----

    /// @notice Challenge the claim on `requestId` with a bond, naming the final checkpoint the
    ///         challenger computed. Usage: `game.open{value: bond}(rid, myPn, roots, fill, sibs)`.
    /// @dev P_0 is computed here from the request's input roots and the registered start data,
    ///      so neither party chooses where the dissection starts.
    function open(
        uint256 requestId,
        bytes32 challengerCheckpoint,
        bytes32[] calldata inputRoots,
        bytes32[] calldata fill,
        bytes32[] calldata siblings
    ) external payable returns (uint256 gameId) {
        IGameEscrow.ClaimInfo memory c = _claimFor(requestId, challengerCheckpoint, inputRoots);
        IOptimisticRegistry.Program memory p = registry.programOf(c.modelId);
        if (keccak256(abi.encode(fill, siblings)) != p.startHash) revert WrongStartData();
        if (p.nSteps == 0) revert NoSteps();
        gameId = ++gameCount;
        Game storage g = games[gameId];
        _init(g, requestId, c, p);
        g.loRoot = StartCheckpoint.compute(inputRoots, fill, siblings);
        byRequest[requestId].push(gameId);
        _announce(gameId, g, challengerCheckpoint);
        escrow.gameOpened(requestId);
    }

    /// @dev The claim a challenge may be opened on, with the opener's checks.
    function _claimFor(
        uint256 requestId,
        bytes32 challengerCheckpoint,
        bytes32[] calldata inputRoots
    ) private view returns (IGameEscrow.ClaimInfo memory c) {
        uint8 status;
        (c, status) = escrow.claimOf(requestId);
        if (status != CLAIMED) revert ClaimNotOpen(requestId);
        if (msg.sender == c.provider) revert SelfChallenge();
        uint256 minBond = registry.minBondOf(c.modelId);
        if (msg.value < minBond) revert BondTooLow(msg.value, minBond);
        if (challengerCheckpoint == c.finalCheckpoint) revert NoDisagreement();
        if (keccak256(abi.encodePacked(inputRoots)) != c.inputHash) revert WrongInputRoots();
    }

    function _announce(uint256 gameId, Game storage g, bytes32 challengerCheckpoint) private {
        emit GameOpened(
            gameId,
            g.requestId,
            g.challenger,
            g.asserter,
            challengerCheckpoint,
            g.loRoot,
            g.bond
        );
    }

    function _init(
        Game storage g,
        uint256 requestId,
        IGameEscrow.ClaimInfo memory c,
        IOptimisticRegistry.Program memory p
    ) private {
        g.requestId = requestId;
        g.asserter = c.provider;
        g.challenger = msg.sender;
        g.bond = msg.value;
        g.programRoot = p.programRoot;
        g.firstStep = p.nInputs + p.nWeights;
        g.nSteps = p.nSteps;
        g.hi = p.nSteps;
        g.hiRoot = c.finalCheckpoint;
        g.phase = p.nSteps == 1 ? Phase.SlotProof : Phase.Dissect;
        _tick(g);
    }

    // ---- dissection ----

    /// @notice The asserter posts P_{p_1} .. P_{p_{m-1}}, m = min(K, hi - lo) (see `positionsOf`).
    function bisect(uint256 gameId, bytes32[] calldata points) external {
        Game storage g = _move(gameId, Phase.Dissect);
        uint256 want = GameMath.parts(g.hi - g.lo, arity) - 1;
        if (points.length != want) revert WrongPointCount(points.length, want);
        g.posted = keccak256(abi.encodePacked(points));
        g.phase = Phase.Choose;
        _tick(g);
        emit Bisected(gameId, g.lo, g.hi, points);
    }

    /// @notice The challenger resends the posted points and picks sub-range j of
    ///         [loRoot, points..., hiRoot]: the first one whose end it disagrees with.
    /// @dev Equal ends are allowed on purpose: an asserter that repeats a point ("these steps
    ///      changed nothing") must be catchable there, else it could steer the dispute to a
    ///      step whose agreed checkpoint lacks the operands the one-step verifier needs. An
    ///      honest asserter posting a repeat (only for steps with empty tensors) still wins.
    function choose(uint256 gameId, uint256 j, bytes32[] calldata points) external {
        Game storage g = _move(gameId, Phase.Choose);
        if (keccak256(abi.encodePacked(points)) != g.posted) revert PointsMismatch();
        uint256 m = points.length + 1;
        if (j >= m) revert IndexOutOfRange(j, m);
        (uint256 lo, uint256 span) = (g.lo, g.hi - g.lo);
        g.loRoot = j == 0 ? g.loRoot : points[j - 1];
        g.hiRoot = j == m - 1 ? g.hiRoot : points[j];
        (uint256 newLo, uint256 newHi) = (lo + (span * j) / m, lo + (span * (j + 1)) / m);
        g.lo = uint32(newLo);
        g.hi = uint32(newHi);
        g.phase = newHi - newLo == 1 ? Phase.SlotProof : Phase.Dissect;
        _tick(g);
        emit Chosen(gameId, j, newLo, newHi);
    }

    /// @notice The asserter shows hiRoot is loRoot with only step s's slot set (one sibling
    ///         list for both), to `root`, and opens step s's description for its shape.
    function proveSlot(
        uint256 gameId,
        bytes calldata stepMessage,
        bytes32[] calldata stepProof,
        bytes32 root,
        bytes32[] calldata siblings
    ) external {
        Game storage g = _move(gameId, Phase.SlotProof);
        uint256 s = g.lo;
        uint256 depth = Merkle.depthFor(uint256(g.nSteps) + 1);
        if (stepProof.length != depth) revert Merkle.WrongDepth(stepProof.length, depth);
        Merkle.verify(g.programRoot, keccak256(stepMessage), s + 1, stepProof);
        uint256 slot = g.firstStep + s;
        uint256 nSlots = uint256(g.firstStep) + g.nSteps;
        // Slot s empty before and `root` after, under the same siblings: nothing else changed.
        Merkle.verifySlot(g.loRoot, bytes32(0), slot, nSlots, siblings);
        Merkle.verifySlot(g.hiRoot, root, slot, nSlots, siblings);
        (uint256 nRows, uint256 width) = GameMath.rowsOf(StepCodec.decode(stepMessage).shape);
        g.nRows = uint64(nRows);
        g.width = uint64(width);
        g.node = root;
        g.left = uint8(Merkle.depthFor(nRows));
        emit SlotProven(gameId, s, root, nRows, width);
        _arrive(gameId, g);
    }

    // ---- descent ----

    /// @notice The asserter posts the 2^b nodes b = min(log2 K, left) levels below the node.
    function revealNodes(uint256 gameId, bytes32[] calldata nodes) external {
        Game storage g = _move(gameId, Phase.Reveal);
        uint256 want = 1 << _levels(g.left);
        if (nodes.length != want) revert WrongNodeCount(nodes.length, want);
        if (GameMath.fold(nodes) != g.node) revert NodesMismatch();
        g.posted = keccak256(abi.encodePacked(nodes));
        g.phase = Phase.Pick;
        _tick(g);
        emit NodesRevealed(gameId, g.index, g.left, nodes);
    }

    /// @notice The challenger resends the nodes and picks the first one it disagrees with.
    function pickNode(uint256 gameId, uint256 j, bytes32[] calldata nodes) external {
        Game storage g = _move(gameId, Phase.Pick);
        if (keccak256(abi.encodePacked(nodes)) != g.posted) revert NodesMismatch();
        if (j >= nodes.length) revert IndexOutOfRange(j, nodes.length);
        uint256 b = _levels(g.left);
        g.index = uint64((uint256(g.index) << b) + j);
        g.left -= uint8(b);
        g.node = nodes[j];
        emit NodePicked(gameId, j, g.index, g.left, nodes[j]);
        _arrive(gameId, g);
    }

    /// @notice The asserter reveals the row the descent ended at: the leaf the node commits.
    function revealRow(uint256 gameId, bytes calldata leaf) external {
        Game storage g = _move(gameId, Phase.Row);
        if (LeafCodec.hash(leaf) != g.node) revert LeafMismatch();
        // A non-canonical (wide but int32) leaf is a different root for the same values: it
        // is a wrong commitment, and the asserter cannot defend it.
        LeafCodec.checkCanonical(leaf);
        uint256 n = LeafCodec.count(leaf);
        if (n != g.width) revert WrongWidth(n, g.width);
        g.phase = Phase.OneStep;
        _tick(g);
        emit RowRevealed(gameId, g.index, leaf);
    }

    /// @notice The challenger names one element of the row and proves its true value from the
    ///         agreed P_s; the asserter loses iff the row holds another value there.
    function proveElement(
        uint256 gameId,
        bytes calldata leaf,
        OneStepVerifier.Proof calldata proof
    ) external {
        Game storage g = _move(gameId, Phase.OneStep);
        if (LeafCodec.hash(leaf) != g.node) revert LeafMismatch();
        uint256 nSlots = uint256(g.firstStep) + g.nSteps;
        int256 v = osv.verify(OneStepVerifier.Claim(g.programRoot, nSlots, g.loRoot, g.lo), proof);
        // The verifier authenticated the step message and checked the element against its
        // shape, so the element's row and column read here are of the disputed step.
        uint256[] memory shape = StepCodec.decode(proof.stepMessage).shape;
        (uint256 row, uint256 col) = GameMath.position(shape, proof.element);
        if (row != g.index) revert WrongRow(row, g.index);
        _resolve(gameId, g, v != LeafCodec.at(leaf, col), Reason.OneStep);
    }

    // ---- clocks, cancellation, payments ----

    /// @notice After the deadline anyone may end the game: the party to move loses.
    function timeout(uint256 gameId) external {
        Game storage g = _live(gameId);
        if (block.timestamp <= g.deadline) revert DeadlineNotPassed(g.deadline, block.timestamp);
        _resolve(gameId, g, _mover(g) == g.asserter, Reason.Timeout);
    }

    /// @notice Once another game voided the claim, anyone may cancel this one: the challenger's
    ///         bond is credited back (the claim it disputed is already refunded).
    /// @dev The escrow is told the game closed (not lost: the claim is voided already, so it
    ///      only counts the game off) to keep its open-game count true.
    function cancel(uint256 gameId) external {
        Game storage g = _existing(gameId);
        if (!_voided(g.requestId)) revert NotVoided(g.requestId);
        g.phase = Phase.Cancelled;
        credits[g.challenger] += g.bond;
        emit Cancelled(gameId, g.requestId);
        escrow.gameResolved(g.requestId, false, g.challenger);
    }

    /// @notice Send the caller everything credited to it.
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ---- reads ----

    function getGame(uint256 gameId) external view returns (Game memory) {
        return games[gameId];
    }

    function gamesOf(uint256 requestId) external view returns (uint256[] memory) {
        return byRequest[requestId];
    }

    /// @notice The dissection positions p_0..p_m of a range (what `bisect` posts the inner of).
    function positionsOf(uint256 lo, uint256 hi) external view returns (uint256[] memory) {
        return GameMath.positions(lo, hi, arity);
    }

    // ---- internals ----

    function _existing(uint256 gameId) private view returns (Game storage g) {
        g = games[gameId];
        if (g.phase == Phase.None) revert UnknownGame(gameId);
        if (g.phase >= Phase.Resolved) revert GameOver(gameId);
    }

    function _live(uint256 gameId) private view returns (Game storage g) {
        g = _existing(gameId);
        if (_voided(g.requestId)) revert ClaimVoided(g.requestId);
    }

    /// @dev The checks every move shares, in the order docs/optimistic.md gives.
    function _move(uint256 gameId, Phase want) private view returns (Game storage g) {
        g = _live(gameId);
        if (g.phase != want) revert WrongPhase(g.phase, want);
        address mover = _mover(g);
        if (msg.sender != mover) revert NotYourTurn(msg.sender, mover);
        if (block.timestamp > g.deadline) revert MoveTooLate(g.deadline, block.timestamp);
    }

    function _voided(uint256 requestId) private view returns (bool) {
        (, uint8 status) = escrow.claimOf(requestId);
        return status == REFUNDED;
    }

    function _mover(Game storage g) private view returns (address) {
        Phase p = g.phase;
        bool challengers = p == Phase.Choose || p == Phase.Pick || p == Phase.OneStep;
        return challengers ? g.challenger : g.asserter;
    }

    function _levels(uint256 left) private view returns (uint256) {
        return left < logArity ? left : logArity;
    }

    function _tick(Game storage g) private {
        g.deadline = uint64(block.timestamp) + moveTimeout;
    }

    /// @dev At a new node: a subtree wholly past the last row is padding, whose only correct
    ///      hash is the zero hash of its height, so the game ends here; else descend or reveal.
    function _arrive(uint256 gameId, Game storage g) private {
        uint256 left = g.left;
        if (uint256(g.index) << left >= g.nRows) {
            _resolve(gameId, g, g.node != Merkle.zeroHash(left), Reason.Padding);
            return;
        }
        g.phase = left == 0 ? Phase.Row : Phase.Reveal;
        _tick(g);
    }

    /// @dev Challenger wins: its bond back, and the escrow voids the claim (refund, half the
    ///      provider's bond to the challenger). Asserter wins: half the challenger's bond to
    ///      the provider, half burned.
    function _resolve(uint256 gameId, Game storage g, bool providerLost, Reason reason) private {
        g.phase = Phase.Resolved;
        (address a, address c, uint256 bond) = (g.asserter, g.challenger, g.bond);
        if (providerLost) {
            credits[c] += bond;
        } else {
            uint256 burn = (bond * BURN_BPS) / 10_000;
            burned += burn;
            credits[a] += bond - burn;
        }
        (address winner, address loser) = providerLost ? (c, a) : (a, c);
        emit Resolved(gameId, winner, loser, reason);
        escrow.gameResolved(g.requestId, providerLost, c);
    }
}
